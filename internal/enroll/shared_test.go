package enroll_test

import (
	"os"
	"path/filepath"
	"testing"
)

// findShared finds shared/sub beside the repository root (the directory
// holding go.mod), walking up from the package directory; "" when absent.
func findShared(sub string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(dir), "shared", sub)
			if _, err := os.Stat(p); err != nil {
				return ""
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// sharedDir is findShared for tests that need the data: it skips the test,
// saying why, when the folder is absent.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	p := findShared(sub)
	if p == "" {
		t.Skipf("shared data shared/%s is absent (expected in a shared/ folder beside the repository root)", sub)
	}
	return p
}
