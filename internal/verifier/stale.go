package verifier

import (
	"context"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// defaultStaleLimit is the limit of a host whose group has no readable
// policy, as the sweeper's default cutoff.
const defaultStaleLimit = 15 * time.Minute

// Staleness is StaleSince under the limit of h's group (its interval ×
// unreachable_after), as the sweeper judges it.
func (v *Verifier) Staleness(ctx context.Context, h store.Host) (since time.Time, stale bool) {
	limit := defaultStaleLimit
	if p, err := v.policies.get(ctx, h.Group); err == nil {
		limit = p.Interval * time.Duration(p.UnreachableAfter)
	}
	return StaleSince(h, limit, v.now())
}

// StaleSince reports whether host h's status is out of date under policy
// limit (its group's interval × unreachable_after): no contact from the
// host since longer than limit, though it is not yet Unreachable. The
// sweeper marks such hosts Unreachable within seconds, but it cannot while
// the store takes no writes; readers then call it stale rather than show
// an old Passed as fresh. since is when the limit ran out.
func StaleSince(h store.Host, limit time.Duration, now time.Time) (since time.Time, stale bool) {
	if h.Status == store.StatusUnreachable || limit <= 0 {
		return time.Time{}, false
	}
	last := h.EnrolledAt
	if h.LastAttested != nil && h.LastAttested.After(last) {
		last = *h.LastAttested
	}
	if h.LastSeen != nil && h.LastSeen.After(last) {
		last = *h.LastSeen
	}
	since = last.Add(limit)
	return since, now.After(since)
}
