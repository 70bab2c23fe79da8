package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "bootproof.db"))
}

func newPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return open(t, pgtest.Start(t))
}

func open(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newSQLite(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newPostgres(t) })
}

func TestDialect(t *testing.T) {
	if got := newSQLite(t).Dialect(); got != "sqlite" {
		t.Errorf("SQLite store Dialect() = %q", got)
	}
	if got := newPostgres(t).Dialect(); got != "postgres" {
		t.Errorf("PostgreSQL store Dialect() = %q", got)
	}
}

// TestReopenKeepsData: a second Open of the same database migrates nothing
// and sees what the first wrote.
func TestReopenKeepsData(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") },
		"file URI": func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "b.db") + "?cache=private" },
		"postgres": func(t *testing.T) string { return pgtest.Start(t) },
		"postgresql": func(t *testing.T) string {
			return "postgresql://" + strings.TrimPrefix(pgtest.Start(t), "postgres://")
		},
	} {
		t.Run(name, func(t *testing.T) {
			dsn := dsn(t)
			ctx := t.Context()
			s := open(t, dsn)
			if err := s.PutGroup(ctx, store.Group{Name: "prod"}); err != nil {
				t.Fatalf("PutGroup: %v", err)
			}
			s.Close()
			s2 := open(t, dsn)
			if _, err := s2.GetGroup(ctx, "prod"); err != nil {
				t.Errorf("GetGroup after reopening: %v", err)
			}
		})
	}
}

// TestConcurrentOpen: replicas starting together on one empty database all
// come up, and the schema is migrated once.
func TestConcurrentOpen(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") },
		"postgres": func(t *testing.T) string { return pgtest.Start(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dsn := dsn(t)
			const n = 4
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := sqlstore.Open(t.Context(), dsn)
					if err == nil {
						s.Close()
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
			db := rawDB(t, dsn)
			var rows int
			if err := db.QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if want := sqlstore.SchemaVersion(); rows != want {
				t.Errorf("schema_version has %d rows, want %d (one per migration)", rows, want)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	open(t, path).Close()
	db := rawDB(t, path)
	if _, err := db.Exec("INSERT INTO schema_version (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	_, err := sqlstore.Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a database from a newer build: error = %v, want one saying it is newer", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"empty", "", "empty"},
		{"question mark in path", "/tmp/x?y.db", "file: URI"},
		{"memory", ":memory:", "in-memory"},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "b.db"), "sqlite"},
		{"unreachable postgres", "postgres://u:secret@/db?host=" + t.TempDir() + "&connect_timeout=2", "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) error = %v, want it to mention %q", tt.dsn, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open error shows the password: %v", err)
			}
		})
	}
}

// rawDB opens dsn without the store, for inspecting what it wrote.
func rawDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSQLiteSettings: the database file is in WAL mode, so that readers do
// not block the writer.
func TestSQLiteSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	open(t, path)
	var mode string
	if err := rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}
