package appraisal

import (
	"time"

	"github.com/bootproof/bootproof/internal/policy"
)

// expiredNote completes a reference failure whose component matched only
// a lapsed reference (`policy learn --expire`): the operator sees that the
// value was allowed until then, not a foreign one.
func expiredNote(lapsed *policy.Reference) string {
	if lapsed == nil {
		return ""
	}
	return " It matched the reference " + lapsed.String() + ", which expired on " + policy.ExpiryText(lapsed.Expires) + "."
}

// expectedRefs lists the references as a failed check's expected values,
// an expired one marked so, so that a digest equal to the one found does
// not read as a match.
func expectedRefs(refs []policy.Reference, now time.Time) []string {
	out := refStrings(refs)
	for i, r := range refs {
		if r.Expired(now) {
			out[i] += ", expired on " + policy.ExpiryText(r.Expires)
		}
	}
	return out
}
