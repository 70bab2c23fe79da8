package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
)

// TestPostgresKeepsItsSessions: a session the store opened stays open
// between waves of concurrent work. A pool that closed those idle beyond
// what it keeps would open new PostgreSQL backends in the next wave, each a
// process and every hot statement prepared again, all through a steady
// load.
func TestPostgresKeepsItsSessions(t *testing.T) {
	dsn := pgtest.Start(t)
	s := open(t, dsn)
	newPGHost(t, s, "h1")
	watch := watchPG(t, dsn)
	watch.SetMaxOpenConns(1)
	sessions := func() map[int]bool {
		t.Helper()
		rows, err := watch.QueryContext(t.Context(),
			`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		pids := map[int]bool{}
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids[pid] = true
		}
		return pids
	}
	wave := func(w int) {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := store.Nonce{Value: fmt.Appendf(nil, "w%d-%d", w, i), Host: "h1", ExpiresAt: time.Now().Add(time.Minute)}
				if err := s.PutNonce(t.Context(), n); err != nil {
					t.Errorf("PutNonce: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	seen := map[int]bool{}
	for w := range 5 {
		wave(w)
		for pid := range sessions() {
			seen[pid] = true
		}
	}
	open := sessions()
	for pid := range seen {
		if !open[pid] {
			t.Errorf("session %d was closed between waves (%d sessions seen, %d open)", pid, len(seen), len(open))
		}
	}
}
