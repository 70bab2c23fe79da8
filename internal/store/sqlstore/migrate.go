package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered SQL files, one directory per dialect, applied in
// order at Open, each in its own transaction, and recorded in
// schema_version. A released migration is never edited: change the schema
// with a new file in both directories.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func migrations(dialectName string) ([]migration, error) {
	dir := path.Join("migrations", dialectName)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must start with a positive number and '_'", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dir, e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// SchemaVersion is the highest migration version this build knows.
func SchemaVersion() int {
	ms, err := migrations(sqlite.name)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

const (
	qCreateSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL)`
	qMaxSchemaVersion    = `SELECT COALESCE(MAX(version), 0) FROM schema_version`
	qInsertSchemaVersion = `INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`
	// migrationLockKey is the PostgreSQL advisory lock that serialises
	// migrations of replicas starting together ("bootproof" in ASCII).
	qLockMigrations   = `SELECT pg_advisory_lock(6436996835215638374)`
	qUnlockMigrations = `SELECT pg_advisory_unlock(6436996835215638374)`
)

// migrate applies the migrations the database lacks. It is safe to run from
// several processes at once: PostgreSQL replicas serialise on an advisory
// lock, SQLite processes on the database's write lock (IMMEDIATE
// transactions) and a re-read of the version inside each transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.d.name)
	if err != nil {
		return err
	}
	// One dedicated connection, so that the session-level advisory lock and
	// the transactions share it.
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer c.Close()
	if s.d.name == postgres.name {
		if _, err := c.ExecContext(ctx, qLockMigrations); err != nil {
			return fmt.Errorf("migrate: take advisory lock: %w", err)
		}
		defer c.ExecContext(context.WithoutCancel(ctx), qUnlockMigrations)
	}
	if _, err := c.ExecContext(ctx, qCreateSchemaVersion); err != nil {
		return fmt.Errorf("migrate: create schema_version: %w", err)
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, c, m); err != nil {
			return err
		}
	}
	// A database migrated by a newer build has a schema this one does not know.
	var have int
	if err := c.QueryRowContext(ctx, qMaxSchemaVersion).Scan(&have); err != nil {
		return fmt.Errorf("migrate: read schema_version: %w", err)
	}
	if want := ms[len(ms)-1].version; have > want {
		return fmt.Errorf("migrate: database schema version %d is newer than this build's %d", have, want)
	}
	return nil
}

// applyMigration applies m in one transaction unless the database already
// has it. A database newer than this build is refused.
func (s *Store) applyMigration(ctx context.Context, c *sql.Conn, m migration) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, qMaxSchemaVersion).Scan(&have); err != nil {
		return fmt.Errorf("migration %s: read schema_version: %w", m.name, err)
	}
	if have >= m.version {
		return nil
	}
	if have != m.version-1 {
		return fmt.Errorf("migration %s: database is at version %d, expected %d", m.name, have, m.version-1)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q(qInsertSchemaVersion), m.version, m.name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: record version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return nil
}
