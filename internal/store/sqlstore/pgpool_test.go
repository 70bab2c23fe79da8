package sqlstore_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
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
	seen := sessionsOverWaves(t, s, watch, 5)
	open := pgSessions(t, watch)
	for pid := range seen {
		if !open[pid] {
			t.Errorf("session %d was closed between waves (%d sessions seen, %d open)", pid, len(seen), len(open))
		}
	}
}

// TestPostgresMaxConns: SetMaxConns bounds the PostgreSQL sessions a store
// opens however many callers wait, so that replicas sharing a small server
// can be kept within its max_connections.
func TestPostgresMaxConns(t *testing.T) {
	dsn := pgtest.Start(t)
	s := open(t, dsn)
	if err := s.SetMaxConns(3); err != nil {
		t.Fatal(err)
	}
	newPGHost(t, s, "h1")
	watch := watchPG(t, dsn)
	watch.SetMaxOpenConns(1)
	seen := sessionsOverWaves(t, s, watch, 3)
	if len(seen) == 0 || len(seen) > 3 {
		t.Errorf("the store opened %d sessions, want 1 to 3", len(seen))
	}
	for _, n := range []int{0, -1} {
		if err := s.SetMaxConns(n); err == nil {
			t.Errorf("SetMaxConns(%d) was taken", n)
		}
	}
}

// TestSQLiteRefusesMaxConns: SQLite writes through one connection; a
// session bound set for it is a mistake the caller hears of.
func TestSQLiteRefusesMaxConns(t *testing.T) {
	s := open(t, t.TempDir()+"/b.db")
	if err := s.SetMaxConns(8); err == nil {
		t.Error("SetMaxConns(8) on SQLite was taken")
	}
}

// sessionsOverWaves runs waves of nonceWave and returns every session
// seen open after one.
func sessionsOverWaves(t *testing.T, s *sqlstore.Store, watch *sql.DB, waves int) map[int]bool {
	seen := map[int]bool{}
	for w := range waves {
		nonceWave(t, s, w)
		for pid := range pgSessions(t, watch) {
			seen[pid] = true
		}
	}
	return seen
}

// pgSessions is the pids of the test database's sessions other than
// watch's own.
func pgSessions(t *testing.T, watch *sql.DB) map[int]bool {
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

// nonceWave puts 64 nonces for h1 at once.
func nonceWave(t *testing.T, s *sqlstore.Store, w int) {
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
