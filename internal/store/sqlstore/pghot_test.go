package sqlstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
)

// TestPostgresAttestationsUpdateInPlace: on PostgreSQL a steady
// attestation (same status as before) updates its host's row and its
// latest evidence as heap-only tuples, writing no index entries. An index
// on a column every attestation changes (hosts_last_seen was one) makes
// every such update write an entry into each of the table's indexes and
// leaves vacuum to clean them all.
func TestPostgresAttestationsUpdateInPlace(t *testing.T) {
	dsn := pgtest.Start(t)
	s := open(t, dsn)
	const hosts, rounds = 20, 10
	for h := range hosts {
		newPGHost(t, s, fmt.Sprintf("h%02d", h))
	}
	for r := range rounds {
		for h := range hosts {
			rec := pgRecord(fmt.Sprintf("h%02d", h), time.Duration(r*hosts+h+1)*time.Second, store.StatusPassed, nil)
			if _, err := s.RecordAttestation(t.Context(), rec); err != nil {
				t.Fatalf("RecordAttestation: %v", err)
			}
		}
	}
	s.Close() // its sessions end, and report their counts as they go
	watch := watchPG(t, dsn)
	// The first round changes each host's status (Pending to Passed), an
	// indexed column, and inserts its latest evidence: only the later
	// rounds can be heap-only.
	steady := hosts * (rounds - 1)
	for _, table := range []string{"hosts", "latest_evidence"} {
		upd, hot := pgUpdates(t, watch, table, steady)
		if hot < steady {
			t.Errorf("%s: %d of %d updates were heap-only, want at least the %d steady ones", table, hot, upd, steady)
		}
	}
}

// pgUpdates reads a table's updates and heap-only updates from the
// statistics, waiting until at least want updates show: a session's counts
// reach them shortly after it ends.
func pgUpdates(t *testing.T, db *sql.DB, table string, want int) (upd, hot int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.QueryRowContext(t.Context(), `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = $1`,
			table).Scan(&upd, &hot)
		if err != nil {
			t.Fatalf("read %s statistics: %v", table, err)
		}
		if upd >= want || time.Now().After(deadline) {
			return upd, hot
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPostgresNoncesWriteNoWAL: issuing a nonce writes next to no WAL on
// PostgreSQL (its commit record): nonces live seconds, and a crash that
// loses them costs their agents one retry. A logged nonces table wrote
// about 300 bytes of WAL per nonce (its row and two index entries).
func TestPostgresNoncesWriteNoWAL(t *testing.T) {
	dsn := pgtest.Start(t)
	s := open(t, dsn)
	newPGHost(t, s, "h1")
	watch := watchPG(t, dsn)
	lsn := func() (pos int64) {
		t.Helper()
		err := watch.QueryRowContext(t.Context(),
			`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&pos)
		if err != nil {
			t.Fatalf("read WAL position: %v", err)
		}
		return pos
	}
	const n = 200
	before := lsn()
	for i := range n {
		putPGNonce(t, s, fmt.Sprintf("nonce-%03d", i), "h1", time.Hour)
	}
	if perNonce := (lsn() - before) / n; perNonce > 100 {
		t.Errorf("issuing a nonce wrote %d bytes of WAL, want at most a commit record's (100)", perNonce)
	}
}

// watchPG opens a session of its own on dsn, beside the store's, to read
// PostgreSQL's views; it is closed when the test ends.
func watchPG(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
