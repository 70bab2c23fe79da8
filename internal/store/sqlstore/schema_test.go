package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/store/pgtest"
)

// column is what both dialects must agree on: name, kind of value and
// whether it may be NULL.
type column struct {
	Name     string
	Kind     string // int, text or bytes
	Nullable bool
}

// TestSchemasMatch: after migration, SQLite and PostgreSQL have the same
// tables with the same columns, so the one set of queries fits both.
func TestSchemasMatch(t *testing.T) {
	sqlitePath := filepath.Join(t.TempDir(), "b.db")
	open(t, sqlitePath)
	pgDSN := pgtest.Start(t)
	open(t, pgDSN)

	lite := sqliteSchema(t, rawDB(t, sqlitePath))
	pg := postgresSchema(t, rawDB(t, pgDSN))
	if len(lite) < 10 {
		t.Fatalf("SQLite schema has %d tables, expected the whole schema: %v", len(lite), lite)
	}
	if d := cmp.Diff(lite, pg); d != "" {
		t.Errorf("schemas differ (-sqlite +postgres):\n%s", d)
	}
}

func kind(sqlType string) string {
	switch t := strings.ToLower(sqlType); {
	case strings.Contains(t, "int"):
		return "int"
	case strings.Contains(t, "text"), strings.Contains(t, "char"):
		return "text"
	case t == "blob", t == "bytea":
		return "bytes"
	default:
		return "unknown " + t
	}
}

func sqliteSchema(t *testing.T, db *sql.DB) map[string][]column {
	t.Helper()
	rows, err := db.Query(`SELECT m.name, p.name, p.type, p."notnull" OR p.pk
		FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.name`)
	if err != nil {
		t.Fatalf("read SQLite schema: %v", err)
	}
	return collect(t, rows)
}

func postgresSchema(t *testing.T, db *sql.DB) map[string][]column {
	t.Helper()
	rows, err := db.Query(`SELECT table_name, column_name, data_type, is_nullable = 'NO'
		FROM information_schema.columns WHERE table_schema = 'public'
		ORDER BY table_name COLLATE "C", column_name COLLATE "C"`)
	if err != nil {
		t.Fatalf("read PostgreSQL schema: %v", err)
	}
	return collect(t, rows)
}

func collect(t *testing.T, rows *sql.Rows) map[string][]column {
	t.Helper()
	defer rows.Close()
	out := map[string][]column{}
	for rows.Next() {
		var table, name, typ string
		var notNull bool
		if err := rows.Scan(&table, &name, &typ, &notNull); err != nil {
			t.Fatalf("scan schema: %v", err)
		}
		out[table] = append(out[table], column{Name: name, Kind: kind(typ), Nullable: !notNull})
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema: %v", err)
	}
	return out
}
