package server

import (
	"fmt"
	"strings"

	"github.com/bootproof/bootproof/internal/privfile"
)

// The verifier's data folder and SQLite database hold the CA key, the
// trust-token signing key and the first admin token: they are made 0700
// and 0600 whatever the umask, and the verifier refuses to start on a
// folder or file that group or others may read or write (a key that may
// have been read is not one to keep using without a word).

// prepareFiles makes (or checks) the data folder, and creates the SQLite
// database file 0600 before SQLite opens it: SQLite would make it 0644
// less the umask, and gives its -wal and -shm files the database's mode.
func prepareFiles(cfg Config) error {
	if cfg.DataDir != "" {
		if err := privfile.EnsureDir(cfg.DataDir); err != nil {
			return fmt.Errorf("verifier data folder: %w", err)
		}
	}
	path, ok := sqlitePath(cfg.DB)
	if !ok {
		return nil
	}
	if err := privfile.Create(path); err != nil {
		return fmt.Errorf("verifier database: %w", err)
	}
	return checkFiles(cfg)
}

// checkFiles refuses a data folder or database file (with its -wal,
// -shm and -journal files) open to group or others.
func checkFiles(cfg Config) error {
	if cfg.DataDir != "" {
		if err := privfile.Check(cfg.DataDir); err != nil {
			return fmt.Errorf("verifier data folder: %w", err)
		}
	}
	path, ok := sqlitePath(cfg.DB)
	if !ok {
		return nil
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := privfile.CheckFile(path + suffix); err != nil {
			return fmt.Errorf("verifier database: %w", err)
		}
	}
	return nil
}

// sqlitePath is the file of a SQLite data source that is a plain path;
// PostgreSQL URLs, file: URIs and in-memory databases have none here.
func sqlitePath(dsn string) (string, bool) {
	if dsn == "" || strings.Contains(dsn, "://") || strings.HasPrefix(dsn, "file:") || strings.HasPrefix(dsn, ":memory:") {
		return "", false
	}
	return dsn, true
}
