package privfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of a private folder and of the files in it.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// Code is the stable code of a refusal.
const Code = "file.mode_open"

// ErrOpen is what every *ModeError wraps.
var ErrOpen = errors.New("open to group or others")

// ModeError names a path that group or others may read or write.
type ModeError struct {
	Path string
	Mode fs.FileMode // the permission bits found
	Want fs.FileMode // what it must be
}

func (e *ModeError) Error() string {
	return fmt.Sprintf("%s has mode %04o, open to group or others (%s); it must be %04o: run chmod %o %s",
		e.Path, e.Mode, Code, e.Want, e.Want, e.Path)
}

// Unwrap makes errors.Is(err, ErrOpen) hold.
func (e *ModeError) Unwrap() error { return ErrOpen }

// EnsureDir creates dir (and missing parents) 0700 whatever the umask, or
// checks an existing one with Check.
func EnsureDir(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		// MkdirAll's mode is masked by the umask; the umask may only
		// have removed bits, but set it exactly.
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return Check(dir)
}

// Check refuses dir, or any file or folder directly in it, that group or
// others may read, write or enter. Symbolic links are not followed: their
// own mode means nothing, and what they point at is outside the folder.
// It does not descend: a 0700 folder already keeps others out of all
// below it.
func Check(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("check %s: not a folder", dir)
	}
	if err := checkMode(dir, fi.Mode(), DirMode); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since it was listed (a temporary file)
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", filepath.Join(dir, e.Name()), err)
		}
		want := FileMode
		if info.IsDir() {
			want = DirMode
		}
		if err := checkMode(filepath.Join(dir, e.Name()), info.Mode(), want); err != nil {
			return err
		}
	}
	return nil
}

// CheckFile refuses one file (or folder) that group or others may use.
// A missing file passes: there is nothing to read yet.
func CheckFile(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSymlink != 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	want := FileMode
	if fi.IsDir() {
		want = DirMode
	}
	return checkMode(path, fi.Mode(), want)
}

func checkMode(path string, mode, want fs.FileMode) error {
	if mode.Perm()&0o077 != 0 {
		return &ModeError{Path: path, Mode: mode.Perm(), Want: want}
	}
	return nil
}

// Create makes path a new, empty file of mode 0600 if it does not exist
// (whatever the umask), so that a program opening it later (SQLite, which
// gives its -wal and -shm files the database file's mode) never makes it
// with its default 0644. An existing file is left as it is.
func Create(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

// WriteFile writes data to path with mode 0600, also when the file
// already exists with another mode (os.WriteFile keeps an existing mode).
func WriteFile(path string, data []byte) error {
	if err := os.Chmod(path, FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// A new file gets 0600 less the umask, which can only remove bits.
	return os.WriteFile(path, data, FileMode)
}
