package verifier

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/appraisal"
)

// TestLearnBlockers: only reference.* failures let a boot be a reference;
// Secure Boot off (failed or merely allowed) and bad bundles may be forced,
// evidence that is not authentic never.
func TestLearnBlockers(t *testing.T) {
	pcrs := map[string]map[int]string{"sha256": {0: "00"}}
	on := &appraisal.SecureBoot{Enabled: true}
	fail := func(code string) appraisal.Check { return appraisal.Check{Code: code, Message: code + " failed"} }
	type want struct {
		Code        string
		Overridable bool
	}
	tests := []struct {
		name string
		vd   appraisal.Verdict
		want []want
	}{
		{"passed with Secure Boot on", appraisal.Verdict{Status: appraisal.Passed, PCRs: pcrs, SecureBoot: on}, nil},
		{"failed only on references", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeRefKernel), fail(appraisal.CodeRefInitrd)}}, nil},
		{"Secure Boot off, failed", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: &appraisal.SecureBoot{},
			Checks: []appraisal.Check{fail(appraisal.CodeSecureBootDisabled)}}, []want{{appraisal.CodeSecureBootDisabled, true}}},
		{"Secure Boot off, passed (not required)", appraisal.Verdict{Status: appraisal.Passed, PCRs: pcrs, SecureBoot: &appraisal.SecureBoot{}},
			[]want{{appraisal.CodeSecureBootDisabled, true}}},
		{"Secure Boot state unknown", appraisal.Verdict{Status: appraisal.Passed, PCRs: pcrs},
			[]want{{appraisal.CodeSecureBootDisabled, true}}},
		{"dbx rolled back", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeSecureBootVariables)}}, []want{{appraisal.CodeSecureBootVariables, true}}},
		{"untrusted bundle and a kernel", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeRefKernel), fail(appraisal.CodeBundleSignature)}}, []want{{appraisal.CodeBundleSignature, true}}},
		{"quote signature", appraisal.Verdict{Status: appraisal.Failed, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeQuoteSignature)}}, []want{{appraisal.CodeQuoteSignature, false}}},
		{"replay", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeEventLogReplay)}}, []want{{appraisal.CodeEventLogReplay, false}}},
		{"data mismatch", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail("eventlog.data_mismatch")}}, []want{{"eventlog.data_mismatch", false}}},
		{"TPM family", appraisal.Verdict{Status: appraisal.Failed, PCRs: pcrs, SecureBoot: on,
			Checks: []appraisal.Check{fail(appraisal.CodeTPMFamilyMismatch)}}, []want{{appraisal.CodeTPMFamilyMismatch, false}}},
		{"N/A host", appraisal.Verdict{Status: appraisal.NA, Checks: []appraisal.Check{fail(appraisal.CodeNotTPM20)}},
			[]want{{appraisal.CodeNotTPM20, false}}},
		{"unjudgeable evidence", *unjudgeable(errUnjudgeableForTest), []want{{"evidence.invalid", false}, {appraisal.CodeSecureBootDisabled, true}}},
		{"no quoted PCRs", appraisal.Verdict{Status: appraisal.Passed, SecureBoot: on}, []want{{"evidence.unproven", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []want
			for _, b := range learnBlockers(&tt.vd) {
				if b.Message == "" {
					t.Errorf("blocker %s has no message", b.Code)
				}
				got = append(got, want{b.Code, b.Overridable})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("blockers (-want +got):\n%s", diff)
			}
		})
	}
}

var errUnjudgeableForTest = errors.New("the event log is empty")
