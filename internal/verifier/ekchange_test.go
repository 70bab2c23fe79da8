package verifier_test

import (
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/verifier"
)

// TestParseEKRef: approve-ek takes the digest as the host view shows it,
// or its bare hex in any case; anything else is a clear refusal.
func TestParseEKRef(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{"sha256:" + hex, hex, " SHA256:" + strings.ToUpper(hex) + " ", verifier.EKRef(hex)} {
		if got, err := verifier.ParseEKRef(in); err != nil || got != hex {
			t.Errorf("ParseEKRef(%q) = %q, %v; want %s", in, got, err, hex)
		}
	}
	for _, in := range []string{"", "sha256:", "sha1:" + hex, "sha256:" + hex[:62], "sha256:" + hex + "00", "sha256:" + strings.Repeat("zz", 32)} {
		_, err := verifier.ParseEKRef(in)
		if e, ok := verifier.AsError(err); !ok || e.Code != "host.ek_invalid" || e.Kind != verifier.KindInvalid {
			t.Errorf("ParseEKRef(%q) = %v, want host.ek_invalid", in, err)
		}
	}
}
