package appraisal

import "github.com/bootproof/bootproof/internal/policy"

// expiredNote completes a reference failure whose component matched only
// a lapsed reference (`policy learn --expire`): the operator sees that the
// value was allowed until then, not a foreign one.
func expiredNote(lapsed *policy.Reference) string {
	if lapsed == nil {
		return ""
	}
	return " It matched the reference " + lapsed.String() + ", which expired on " + policy.ExpiryText(lapsed.Expires) + "."
}
