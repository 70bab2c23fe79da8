package verifier

import (
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// Judgement is a verdict as Submit records it: the appraisal's verdict and
// the headline reason the host list, the history and webhooks show.
type Judgement struct {
	Verdict *appraisal.Verdict
	// ReasonCode and Reason are the first failure's code and message
	// (firstFailure); empty when nothing failed.
	ReasonCode string
	Reason     string
}

// Judge appraises in as Submit does, without storage: evidence that cannot
// be appraised is a Failed verdict (evidence.invalid), and the reason is
// picked by the same headline function. Submit and `bootproof appraise`
// both call it, so a verdict reproduced offline is the verifier's.
func Judge(in appraisal.Input) Judgement {
	verdict, err := appraisal.Appraise(in)
	if err != nil {
		verdict = unjudgeable(err)
	}
	j := Judgement{Verdict: verdict}
	if c := firstFailure(verdict); c != nil {
		j.ReasonCode, j.Reason = c.Code, c.Message
	}
	return j
}

// Learn is what `policy learn` takes from a verdict: its components added
// to base's reference values. A boot that failed for anything but
// reference values, or had Secure Boot off or unknown, teaches nothing
// (learn.not_a_reference, as the verifier refuses it; offline there is no
// --force); what names the evidence in that refusal.
func Learn(vd *appraisal.Verdict, base *policy.Policy, what string) (*policy.Policy, error) {
	if bs := learnBlockers(vd); len(bs) > 0 {
		return nil, refuse(KindConflict, CodeNotAReference, "%s cannot be a reference: %s", what, blockerList(bs))
	}
	return policy.Learn(vd.Components, base), nil
}
