package web

import (
	"slices"
	"testing"
	"time"
)

// TestHostPageHeadlineFirst: the host page lists the stored headline first
// among the failures, then every other failure in the appraisal's order,
// so the page reads as the report does: headline, then the list.
func TestHostPageHeadlineFirst(t *testing.T) {
	checks := []Check{
		{Code: "secureboot.disabled", Message: "Secure Boot was disabled at boot.", PCR: -1, EventIndex: -1},
		{Code: "quote.nonce", Passed: true, Message: "The quote carries the nonce.", PCR: -1, EventIndex: -1},
		{Code: "reference.boot_options", Message: "The boot options are not among the references.", PCR: -1, EventIndex: -1},
		{Code: "reference.kernel", Message: "The kernel is not among the references.", PCR: -1, EventIndex: -1},
	}
	tests := []struct {
		name, code, reason string
		want               []string
	}{
		{"headline last in check order comes first", "reference.kernel", "The kernel is not among the references.",
			[]string{"reference.kernel", "secureboot.disabled", "reference.boot_options"}},
		{"headline already first stays first", "secureboot.disabled", "Secure Boot was disabled at boot.",
			[]string{"secureboot.disabled", "reference.boot_options", "reference.kernel"}},
		{"a headline no check has leaves the order", "tpm.family_mismatch", "The host claims another TPM.",
			[]string{"secureboot.disabled", "reference.boot_options", "reference.kernel"}},
		{"same code, another sentence is not the headline", "reference.kernel", "Some other sentence.",
			[]string{"secureboot.disabled", "reference.boot_options", "reference.kernel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HostDetail{HostRow: HostRow{Name: "h", Status: StatusFailed, ReasonCode: tt.code, Reason: tt.reason},
				Checks: slices.Clone(checks)}
			v := newHostView(pageView{}, h, time.Now())
			var got []string
			for _, f := range v.Failures {
				got = append(got, f.Code)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("failures shown in the order %v, want %v", got, tt.want)
			}
			if len(v.Checks) != len(checks) || v.Checks[0].Code != checks[0].Code {
				t.Errorf("the checks table is not every check in the verifier's order: %v", v.Checks)
			}
		})
	}
}
