package privfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestEnsureDirUnderUmaskZero: a new folder is 0700 and a created file
// 0600 even when the umask would let everyone in.
func TestEnsureDirUnderUmaskZero(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "a", "data")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "bootproof.db")
	if err := Create(db); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "ca.pem"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, db: 0o600, filepath.Join(dir, "ca.pem"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
	if err := Check(dir); err != nil {
		t.Errorf("Check(private folder) = %v", err)
	}
}

// TestCheckRefusesOpenModes: an open folder, file or subfolder is refused
// with its path, mode and the chmod that fixes it; a missing file passes.
func TestCheckRefusesOpenModes(t *testing.T) {
	for _, c := range []struct {
		name      string
		dirMode   os.FileMode
		fileMode  os.FileMode
		subMode   os.FileMode
		wantPath  string
		wantChmod string
	}{
		{"folder readable by others", 0o755, 0o600, 0o700, "", "chmod 700"},
		{"folder writable by group", 0o770, 0o600, 0o700, "", "chmod 700"},
		{"file readable by group", 0o700, 0o640, 0o700, "/f", "chmod 600"},
		{"file writable by others", 0o700, 0o602, 0o700, "/f", "chmod 600"},
		{"subfolder open", 0o700, 0o600, 0o711, "/sub", "chmod 700"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o600))
			must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
			must(t, os.Chmod(filepath.Join(dir, "f"), c.fileMode))
			must(t, os.Chmod(filepath.Join(dir, "sub"), c.subMode))
			must(t, os.Chmod(dir, c.dirMode))
			err := Check(dir)
			var me *ModeError
			if !errors.As(err, &me) || !errors.Is(err, ErrOpen) || me.Path != dir+c.wantPath {
				t.Fatalf("Check = %v, want a ModeError for %s", err, dir+c.wantPath)
			}
			if !strings.Contains(err.Error(), c.wantChmod+" "+dir+c.wantPath) {
				t.Errorf("error %q does not say %q", err, c.wantChmod)
			}
		})
	}
	if err := CheckFile(filepath.Join(t.TempDir(), "none")); err != nil {
		t.Errorf("CheckFile(missing) = %v, want nil", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
