package appraisal

import (
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/google/go-cmp/cmp"
)

// rebuiltInitrd is the standard host's initramfs after an update rebuilt it.
var rebuiltInitrd = []byte("initramfs rebuilt by update-initramfs")

var pinnedAt = time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)

// pinOf is the initramfs pin a host booting initrd has.
func pinOf(initrd []byte) []Pin {
	return []Pin{{Class: policy.ClassInitrd, Bank: "sha256", Digests: []string{hexs(sha(initrd))}, Since: pinnedAt}}
}

// TestPerHostPins: a per-host class is judged by the value pinned on the
// host; a changed value fails reference.<class> saying since when it was
// pinned, even when the group's reference values allow the new one.
func TestPerHostPins(t *testing.T) {
	perHost := func(p *policy.Policy) { p.References.Initrd = nil; p.PerHost = []string{policy.ClassInitrd} }
	bothRules := func(p *policy.Policy) {
		p.PerHost = []string{policy.ClassInitrd}
		p.References.Initrd = append(p.References.Initrd, policy.Reference{SHA256: hexs(sha(rebuiltInitrd)), Label: "rebuilt"})
	}
	changed := "The initramfs changed since 2026-11-20T08:30:00Z (pinned on this host)."
	tests := []struct {
		name      string
		initrd    []byte
		policy    func(p *policy.Policy)
		pins      []Pin
		want      Status
		wantMsg   string // the reference.initrd failure's message
		reference string // what the initramfs component says it matched
	}{
		{name: "no pin yet passes, not judged", policy: perHost, want: Passed},
		{name: "same value passes", policy: perHost, pins: pinOf(initrdImage), want: Passed,
			reference: "pinned on this host since 2026-11-20T08:30:00Z"},
		{name: "changed value fails", initrd: rebuiltInitrd, policy: perHost, pins: pinOf(initrdImage), want: Failed, wantMsg: changed},
		{name: "reference allows it, the pin does not", initrd: rebuiltInitrd, policy: bothRules, pins: pinOf(initrdImage), want: Failed, wantMsg: changed,
			reference: "rebuilt (" + hexs(sha(rebuiltInitrd)) + ")"},
		{name: "both hold", policy: bothRules, pins: pinOf(initrdImage), want: Passed,
			reference: "/boot/initrd.img-6.7.0 (" + hexs(sha(initrdImage)) + "); pinned on this host since 2026-11-20T08:30:00Z"},
		{name: "pin of another class is ignored", initrd: rebuiltInitrd, policy: perHost,
			pins: []Pin{{Class: policy.ClassKernel, Bank: "sha256", Digests: []string{"00"}, Since: pinnedAt}}, want: Passed},
	}
	golden := goldenPolicy(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := boot(t, testBanks, standardBoot(t, bootOpts{secureBoot: true, initrd: tt.initrd}))
			p := golden.Clone()
			tt.policy(p)
			v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow, Pins: tt.pins})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tt.want {
				t.Fatalf("status %s, want %s; failures %+v", v.Status, tt.want, v.Failures())
			}
			initrd := v.Components.Class(policy.ClassInitrd)
			if len(initrd) != 1 {
				t.Fatalf("%d initramfs components, want 1", len(initrd))
			}
			if initrd[0].Reference != tt.reference {
				t.Errorf("initramfs reference %q, want %q", initrd[0].Reference, tt.reference)
			}
			if tt.want == Passed {
				return
			}
			want := Check{Code: CodeRefInitrd, Bank: "sha256", Component: "/boot/initrd.img-6.7.0 (label from the host, unproven)",
				PCR: intp(9), EventIndex: intp(initrd[0].EventIndex), Message: tt.wantMsg,
				Expected: []string{hexs(sha(initrdImage))}, Found: hexs(sha(rebuiltInitrd))}
			if diff := cmp.Diff([]Check{want}, v.Failures()); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if h := v.Headline(); h == nil || h.Code != CodeRefInitrd {
				t.Errorf("headline %+v, want %s", h, CodeRefInitrd)
			}
			for _, c := range v.Checks {
				if c.Code == CodeRefInitrd && c.Passed {
					t.Errorf("a passed %s check beside the failed one: %q", c.Code, c.Message)
				}
			}
			if !initrd[0].Judged {
				t.Error("the changed initramfs is not marked judged")
			}
		})
	}
}

// TestTrustLevels: a Passed verdict says whether its group constrained
// any component, and references_required fails a group that does not.
func TestTrustLevels(t *testing.T) {
	golden := goldenPolicy(t)
	tests := []struct {
		name       string
		secureBoot bool
		policy     func() *policy.Policy
		want       Status
		wantLevel  string
		wantFailed []string
	}{
		{"no references: Secure Boot only", true, policy.Default, Passed, TrustSecureBootOnly, nil},
		{"reference values", true, golden.Clone, Passed, TrustReferences, nil},
		{"per-host class only", true, func() *policy.Policy { p := policy.Default(); p.PerHost = []string{policy.ClassInitrd}; return p },
			Passed, TrustReferences, nil},
		{"references required and none", true, func() *policy.Policy { p := policy.Default(); p.ReferencesRequired = true; return p },
			Failed, "", []string{CodeNoReferences}},
		{"references required and set", true, func() *policy.Policy { p := golden.Clone(); p.ReferencesRequired = true; return p },
			Passed, TrustReferences, nil},
		{"Failed has no level", false, policy.Default, Failed, "", []string{CodeSecureBootDisabled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := boot(t, testBanks, standardBoot(t, bootOpts{secureBoot: tt.secureBoot}))
			v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: tt.policy(), Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, c := range v.Failures() {
				failed = append(failed, c.Code)
			}
			if v.Status != tt.want || v.TrustLevel != tt.wantLevel || !cmp.Equal(failed, tt.wantFailed) {
				t.Fatalf("status %s, trust level %q, failed %v; want %s, %q, %v", v.Status, v.TrustLevel, failed, tt.want, tt.wantLevel, tt.wantFailed)
			}
		})
	}
}
