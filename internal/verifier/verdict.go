package verifier

import (
	"strings"

	"github.com/bootproof/bootproof/internal/appraisal"
)

// firstFailure is the reason a report shows first: the most telling one.
// Evidence that is not authentic comes first (nothing else in it can be
// believed); then foreign code that ran (a boot loader or kernel not in the
// references); then bad bundles (unsigned, untrusted, below the acceptance
// level), which say more than "this module is not a reference"; then
// Secure Boot being off; last the firmware measurements and the boot
// options, which change with the Secure Boot setting (OVMF measures other
// firmware volumes with Secure Boot off; ESXi's boot options carry it) and
// so mostly echo it.
func firstFailure(v *appraisal.Verdict) *appraisal.Check {
	var best *appraisal.Check
	for i := range v.Checks {
		c := &v.Checks[i]
		if !c.Passed && (best == nil || failureRank(c.Code) < failureRank(best.Code)) {
			best = c
		}
	}
	return best
}

func failureRank(code string) int {
	switch code {
	case "reference.module":
		return 5
	case "reference.firmware", "reference.boot_options":
		return 7
	}
	prefix, _, _ := strings.Cut(code, ".")
	switch prefix {
	case "evidence", "tpm":
		return 0
	case "quote":
		return 1
	case "eventlog":
		return 2
	case "reference":
		return 3
	case "bundle":
		return 4
	case "secureboot":
		return 6
	}
	return 8
}

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
