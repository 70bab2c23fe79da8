package sqlstore_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

// TestPeriodicQueriesUseIndexes: the queries that run on a timer must not
// read every host. A plan that scans hosts costs nothing in a small test
// and most of a verifier's CPU with 100,000 hosts (the attest-request poll
// once scanned all hosts four times a second because of an ORDER BY).
func TestPeriodicQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.db")
	open(t, path)
	db := rawDB(t, path)
	for name, q := range sqlstore.PeriodicHostQueries {
		t.Run(name, func(t *testing.T) {
			rows, err := db.Query("EXPLAIN QUERY PLAN "+q.Query, q.Args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if strings.Contains(all, "SCAN hosts") {
				t.Errorf("plan reads every host: %s", all)
			}
		})
	}
}
