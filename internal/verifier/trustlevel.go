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

// countTrustLevels sets the Passed hosts' gauge by trust level: each
// group's Passed hosts count at its policy's level. On an error the gauge
// keeps its last counts, as bootproof_hosts does.
func (v *Verifier) countTrustLevels(ctx context.Context) {
	groups, err := v.st.ListGroups(ctx)
	if err != nil {
		v.log.Warn("count hosts by trust level", "err", err)
		return
	}
	counts := map[string]int{appraisal.TrustSecureBootOnly: 0, appraisal.TrustReferences: 0}
	for _, g := range groups {
		p, err := v.policies.get(ctx, g.Name)
		if err != nil {
			v.log.Warn("count hosts by trust level", "group", g.Name, "err", err)
			return
		}
		byStatus, err := v.st.CountByStatus(ctx, g.Name)
		if err != nil {
			v.log.Warn("count hosts by trust level", "group", g.Name, "err", err)
			return
		}
		counts[appraisal.TrustLevelOf(p)] += byStatus[store.StatusPassed]
	}
	for level, n := range counts {
		v.metrics.PassedByTrust.WithLabelValues(level).Set(float64(n))
	}
}
