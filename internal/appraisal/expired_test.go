package appraisal

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
)

// TestExpiredReference: a kernel whose only reference expired fails with
// reference.kernel saying when it expired; before the expiry it passes,
// and an unrelated expired reference changes nothing.
func TestExpiredReference(t *testing.T) {
	golden := goldenPolicy(t)
	h := boot(t, testBanks, standardBoot(t, bootOpts{secureBoot: true}))
	expires := testNow.Add(-time.Hour)
	tests := []struct {
		name    string
		expires time.Time
		other   bool // an expired reference of another digest beside the kernel's
		want    Status
		message string
	}{
		{"no expiry", time.Time{}, false, Passed, ""},
		{"expires after now", testNow.Add(time.Second), false, Passed, ""},
		{"expired an hour ago", expires, false, Failed, "which expired on " + policy.ExpiryText(expires)},
		{"expired at this very time", testNow, false, Failed, "which expired on"},
		{"another kernel expired", time.Time{}, true, Passed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := golden.Clone()
			p.References.Kernel[0].Expires = tt.expires
			if tt.other {
				p.References.Kernel = append(p.References.Kernel, policy.Reference{SHA256: strings.Repeat("ab", 32), Label: "old", Expires: expires})
			}
			v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tt.want {
				t.Fatalf("status %s, want %s: %+v", v.Status, tt.want, v.Failures())
			}
			if tt.want == Passed {
				return
			}
			f := v.Failures()
			if len(f) != 1 || f[0].Code != CodeRefKernel || !strings.Contains(f[0].Message, tt.message) {
				t.Fatalf("failures %+v, want one %s saying %q", f, CodeRefKernel, tt.message)
			}
			if want := p.References.Kernel[0].String() + ", expired on " + policy.ExpiryText(tt.expires); !slices.Contains(f[0].Expected, want) {
				t.Errorf("expected values %q, want %q among them", f[0].Expected, want)
			}
		})
	}
}
