package verifier

import (
	"context"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/store"
)

// TrustLevel is the trust level of a Passed host for lists (the report,
// the host list, the fleet page, metrics): that of its group's current
// policy (appraisal.TrustLevelOf), read from the policy cache, so a list
// costs no verdict reads. "" for a host that is not Passed, or whose
// group's policy cannot be read. A host's verdict records the level it
// was judged at (Verdict.TrustLevel); the two differ only between a policy
// change and the host's next attestation.
func (v *Verifier) TrustLevel(ctx context.Context, h store.Host) string {
	if h.Status != store.StatusPassed {
		return ""
	}
	p, err := v.policies.get(ctx, h.Group)
	if err != nil {
		return ""
	}
	return appraisal.TrustLevelOf(p)
}
