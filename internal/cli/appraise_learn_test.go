package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAppraiseLearnRefuses: `appraise --learn` takes nothing from a boot
// the verifier's `policy learn` would refuse (Secure Boot off), with the
// same code and the blocking check named, and exit 2.
func TestAppraiseLearnRefuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sboff")
	runBootproof(t, "evidence", "--profile", "secureboot-off", "--out", dir, "--host", "esx-sboff")
	code, out, errs := runBootproof(t, "appraise", dir, "--learn")
	if code != exitCannotAppraise || out != "" || !strings.Contains(errs, "learn.not_a_reference") || !strings.Contains(errs, "secureboot.disabled") {
		t.Errorf("appraise --learn on a Secure-Boot-off boot: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
