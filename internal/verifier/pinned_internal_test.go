package verifier

import (
	"slices"
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// TestAcceptedPin: only authentic evidence gives a pin, even when a
// decision bank was proven (another bank's replay failed), and the pin is
// the class's sorted digests in that bank.
func TestAcceptedPin(t *testing.T) {
	proven := func(checks ...appraisal.Check) *appraisal.Verdict {
		return &appraisal.Verdict{Status: appraisal.Failed, Bank: "sha256", PCRs: map[string]map[int]string{"sha256": {9: "00"}},
			Checks: checks, Components: policy.Components{
				{Class: policy.ClassInitrd, Digests: map[string]string{"sha256": "bb"}},
				{Class: policy.ClassKernel, Digests: map[string]string{"sha256": "cc"}},
				{Class: policy.ClassInitrd, Digests: map[string]string{"sha256": "aa"}}}}
	}
	tests := []struct {
		name    string
		verdict *appraisal.Verdict
		want    []string // nil: refused
	}{
		{"changed initramfs, authentic", proven(appraisal.Check{Code: appraisal.CodeRefInitrd}), []string{"aa", "bb"}},
		{"sha1 replay failed beside a proven sha256", proven(appraisal.Check{Code: appraisal.CodeEventLogReplay, Bank: "sha1"}), nil},
		{"a quote failed", proven(appraisal.Check{Code: appraisal.CodeQuoteSignature}), nil},
		{"nothing proven", &appraisal.Verdict{Status: appraisal.Failed}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pin, err := acceptedPin("web-01", policy.ClassInitrd, tt.verdict)
			if tt.want == nil {
				if e, ok := AsError(err); !ok || e.Code != "pin.unverified" {
					t.Fatalf("acceptedPin = %+v, %v; want pin.unverified", pin, err)
				}
				return
			}
			if err != nil || pin.Bank != "sha256" || !slices.Equal(pin.Digests, tt.want) {
				t.Fatalf("acceptedPin = %+v, %v; want sha256 %v", pin, err, tt.want)
			}
		})
	}
}
