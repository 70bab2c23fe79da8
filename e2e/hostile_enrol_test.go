package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestFamilyClaimCannotMakeFailedHostNA: a host enrolled with a TPM 2.0
// boots with Secure Boot off (Failed), then its root user sends evidence
// claiming another TPM family and no quote, in a group whose policy lets
// N/A hosts take workloads. The TPM family is the enrolment's, so the host
// stays Failed and placement stays denied, by the API and by the signed
// trust token.
func TestFamilyClaimCannotMakeFailedHostNA(t *testing.T) {
	f := newFleet(t)
	f.attackPolicy(func(p *policy.Policy) { p.NAAllowed = true })
	e := f.newEvil(t, "sboff", emuhost.SecureBootOff, 0)
	e.enroll(f.joinToken("sboff", "10m"))
	if a, res := e.submit(e.evidence(e.nonce())); a.Status != 200 || res.Status != "Failed" {
		t.Fatalf("Secure Boot off, honest evidence: %v %+v, want Failed", a, res)
	}
	tests := []struct{ family, code string }{
		{wire.FamilyTPM12, "tpm.family_mismatch"},
		{wire.FamilyNone, "tpm.family_mismatch"},
		{"", "tpm.family_mismatch"},
		{"2.0 ", "tpm.family_mismatch"},
		{wire.FamilyTPM20, "quote.missing_bank"}, // the right family, still no quote
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("family %q without a quote", tt.family), func(t *testing.T) {
			a, res := e.submit(&wire.Evidence{Nonce: e.nonce(), TPMFamily: tt.family, EventLog: e.boot.EventLog})
			if a.Status != 200 || res.Status != "Failed" || res.Reason == "" {
				t.Errorf("answer %v %+v, want 200 and Failed with a reason", a, res)
			}
			h, err := f.get("sboff")
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != "Failed" || h.ReasonCode != tt.code {
				t.Errorf("host is %s (%s), want Failed (%s)", h.Status, h.ReasonCode, tt.code)
			}
			assertPlacementDenied(t, f, "sboff")
		})
	}
}

// assertPlacementDenied checks both ways a relying party learns whether a
// host may take workloads: the placement API and a signed trust token.
func assertPlacementDenied(t *testing.T, f *fleet, host string) {
	t.Helper()
	ctx := context.Background()
	var d verifier.Decision
	if err := f.admin.Do(ctx, "GET", "/api/v1/hosts/"+host+"/placement", nil, &d); err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.Trusted {
		t.Errorf("placement allows %s: %+v", host, d)
	}
	var tok struct {
		Token  string            `json:"token"`
		Claims trusttoken.Claims `json:"claims"`
	}
	if err := f.admin.Do(ctx, "POST", "/api/v1/hosts/"+host+"/trust-token", nil, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Placement != "deny" || tok.Claims.Status == "N/A" || tok.Token == "" {
		t.Errorf("trust token for %s: %+v, want placement deny", host, tok.Claims)
	}
}
