package gate

import (
	"context"
	"testing"
)

// standInCode is the headline code the stand-in verifier states for a
// status, in its placement answers and its tokens alike.
func standInCode(status string) string {
	switch status {
	case "Failed":
		return "reference.kernel"
	case "N/A":
		return "tpm.not_tpm20"
	}
	return ""
}

// TestCheckCarriesHeadlineCode: the gate's decision carries the host's
// headline code, from the verifier's answer and, while the verifier is
// down, from the cached token, so a hook's caller sees the same first
// reason as the report.
func TestCheckCarriesHeadlineCode(t *testing.T) {
	tests := []struct{ status, want string }{
		{"Failed", "reference.kernel"},
		{"N/A", "tpm.not_tpm20"},
		{"Passed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			v := newStandIn(t)
			v.status.Store(tt.status)
			v.allow.Store(tt.status == "Passed")
			g, _ := newTestGate(t, v, nil)
			if d := g.Check(context.Background(), "hv-01"); d.Source != SourceVerifier || d.ReasonCode != tt.want {
				t.Fatalf("online Check = %+v, want reason code %q from the verifier", d, tt.want)
			}
			v.srv.Close() // the verifier is down: the token just cached answers
			if d := g.Check(context.Background(), "hv-01"); d.Source != SourceCachedToken || d.ReasonCode != tt.want {
				t.Errorf("offline Check = %+v, want reason code %q from the cached token", d, tt.want)
			}
		})
	}
}
