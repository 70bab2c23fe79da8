package pgtest_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/bootproof/bootproof/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestStartGivesSeparateDatabases(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := pgtest.Start(t), pgtest.Start(t)
	if dsnA == dsnB {
		t.Fatalf("Start returned the same database twice: %s", dsnA)
	}
	a, err := sql.Open("pgx", dsnA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sql.Open("pgx", dsnB)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatalf("create table in first database: %v", err)
	}
	var n int
	if err := b.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatalf("query second database: %v", err)
	}
	if n != 0 {
		t.Errorf("a table created in one database is visible in the other")
	}
	var user string
	if err := a.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != "postgres" {
		t.Errorf("current_user = %q, want postgres", user)
	}
}
