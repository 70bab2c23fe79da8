package policy

import "time"

// Expired reports whether the reference has lapsed at t: `policy learn
// --expire` gives the references a new boot supersedes an expiry, so that a
// kernel update rolls without keeping every old kernel allowed for ever,
// and without failing the hosts not yet updated before the expiry.
func (r Reference) Expired(t time.Time) bool {
	return !r.Expires.IsZero() && !t.Before(r.Expires)
}

// MatchAt is Match at time now: references expired at now are ignored.
// When none of the others matches, lapsed is the first expired reference
// that would have matched, so that the verdict can say when it expired.
func (p *Policy) MatchAt(c Component, now time.Time) (ref Reference, ok bool, lapsed *Reference) {
	d := digestsOf(c) // read once, compared with every reference
	for _, r := range p.References.Class(c.Class) {
		if !r.matches(d) {
			continue
		}
		if !r.Expired(now) {
			return r, true, nil
		}
		if lapsed == nil {
			r := r
			lapsed = &r
		}
	}
	return Reference{}, false, lapsed
}

// ExpiryText is how messages write an expiry time: UTC, to the second.
func ExpiryText(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
