package verifier

import (
	"strings"

	"github.com/bootproof/bootproof/internal/appraisal"
)

// firstFailure is the reason the host's record stores and every surface
// shows first: the appraisal's one ranked headline (Verdict.Headline).
func firstFailure(v *appraisal.Verdict) *appraisal.Check { return v.Headline() }

// unjudgeable turns evidence the appraisal could not judge into a Failed
// verdict: a host that sends what cannot be appraised must not keep an
// earlier Passed.
func unjudgeable(err error) *appraisal.Verdict {
	return &appraisal.Verdict{Status: appraisal.Failed, Checks: []appraisal.Check{{
		Code: "evidence.invalid", Message: "the evidence could not be appraised: " + err.Error()}}}
}

// authentic reports whether the verdict's quotes and event log replay held,
// whatever the policy checks said: only such evidence may teach references.
func authentic(v *appraisal.Verdict) bool {
	if v.Status == appraisal.NA || len(v.PCRs) == 0 {
		return false
	}
	for _, c := range v.Checks {
		if !c.Passed && (strings.HasPrefix(c.Code, "quote.") || strings.HasPrefix(c.Code, "eventlog.") || strings.HasPrefix(c.Code, "evidence.")) {
			return false
		}
	}
	return true
}
