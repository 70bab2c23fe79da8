package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// newFleetOnSmallDisk is newFleet with the verifier's data folder on a
// real filesystem of size bytes (a tmpfs mounted for the test), so that
// "the disk is full" is what the kernel says, not a simulated write error.
// It skips, saying why, where the test cannot mount one (not root, no
// mount permission in this sandbox).
func newFleetOnSmallDisk(t *testing.T, size int64, extra ...string) *fleet {
	t.Helper()
	return newFleetWith(t, func(dir string) {
		mountSmallFilesystem(t, filepath.Join(dir, "data"), size)
	}, extra...)
}

// mountSmallFilesystem mounts a tmpfs of size bytes at dir for the test's
// lifetime.
func mountSmallFilesystem(t *testing.T, dir string, size int64) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a small filesystem needs root to mount (tmpfs); run the e2e tests as root, as .ci/run does")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs at the data folder: %v %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v %s", dir, err, out)
		}
	})
}
