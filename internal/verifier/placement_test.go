package verifier

import (
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fresh, stale := now.Add(-time.Minute), now.Add(-time.Hour)
	pol := func(mode string, na bool) *policy.Policy {
		p := policy.Default()
		p.Enforcement, p.NAAllowed = mode, na
		return p
	}
	tests := []struct {
		name          string
		status        string
		attested      *time.Time
		p             *policy.Policy
		allow, trusts bool
	}{
		{"fresh Passed", store.StatusPassed, &fresh, pol(policy.EnforceOn, false), true, true},
		{"stale Passed", store.StatusPassed, &stale, pol(policy.EnforceOn, false), false, false},
		{"Failed", store.StatusFailed, &fresh, pol(policy.EnforceOn, false), false, false},
		{"Unreachable", store.StatusUnreachable, &stale, pol(policy.EnforceOn, false), false, false},
		{"Pending", store.StatusPending, nil, pol(policy.EnforceOn, false), false, false},
		{"N/A denied", store.StatusNA, &fresh, pol(policy.EnforceOn, false), false, false},
		{"N/A allowed by policy", store.StatusNA, &fresh, pol(policy.EnforceOn, true), true, true},
		{"Failed in warn mode", store.StatusFailed, &fresh, pol(policy.EnforceWarn, false), true, false},
		{"Failed with enforcement off", store.StatusFailed, &fresh, pol(policy.EnforceOff, false), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := store.Host{Name: "h", Status: tt.status, LastAttested: tt.attested,
				ReasonCode: "secureboot.disabled", Reason: "Secure Boot was disabled at boot."}
			d := Decide(h, tt.p, now)
			if d.Allow != tt.allow || d.Trusted != tt.trusts || d.Reason == "" {
				t.Errorf("Decide = %+v, want allow %v trusted %v and a reason", d, tt.allow, tt.trusts)
			}
			// The answer carries the host's stored headline, never one of
			// its own: the code unless Passed, and a Failed host's sentence.
			if wantCode := map[bool]string{true: "", false: h.ReasonCode}[tt.status == store.StatusPassed]; d.ReasonCode != wantCode {
				t.Errorf("Decide reason code = %q, want %q", d.ReasonCode, wantCode)
			}
			if tt.status == store.StatusFailed && !strings.HasSuffix(d.Reason, h.Reason) {
				t.Errorf("Decide reason = %q, want it to end with the headline %q", d.Reason, h.Reason)
			}
		})
	}
}
