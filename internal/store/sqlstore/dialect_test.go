package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = $1"},
		{"INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := postgres.q(tt.in); got != tt.want {
			t.Errorf("postgres.q(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sqlite.q(tt.in); got != tt.in {
			t.Errorf("sqlite.q(%q) = %q, want it unchanged", tt.in, got)
		}
	}
}

func TestLikeEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"esx-01", "esx-01"},
		{"100%", `100\%`},
		{"a_b", `a\_b`},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := likeEscape(tt.in); got != tt.want {
			t.Errorf("likeEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://bootproof:hunter2@db:5432/bp", "postgres://bootproof:xxxxx@db:5432/bp"},
		{"postgres://db/bp", "postgres://db/bp"},
		{"postgres://%zz:pw@db/bp", "postgres://(unparsable URL)"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMigrationsPairUp(t *testing.T) {
	lite, err := migrations(sqlite.name)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(postgres.name)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("%d SQLite and %d PostgreSQL migrations, want the same non-zero number", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name || lite[i].version != i+1 {
			t.Errorf("migration %d: sqlite %q, postgres %q; want the same name, numbered from 1 without gaps",
				i, lite[i].name, pg[i].name)
		}
	}
}
