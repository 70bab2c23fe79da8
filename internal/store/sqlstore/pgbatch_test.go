package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

// The tests of pgbatch.go: PostgreSQL's RecordAttestation and PutNonce in
// batches. What both databases must do alike is in storetest; these check
// what only the batched path can get wrong: the number of round trips, a
// statement failing inside a batch, and connections handed back to the pool
// in a clean state.

// newPGHost creates a Pending host on s.
func newPGHost(t testing.TB, s *sqlstore.Store, name string) {
	t.Helper()
	h := store.Host{Name: name, Group: "prod", TPMFamily: store.TPMFamily20, EKDigest: fmt.Sprintf("%064x", len(name)),
		EnrolledAt: benchT0, Status: store.StatusPending, StatusSince: benchT0}
	if err := s.CreateHost(t.Context(), h); err != nil {
		t.Fatalf("CreateHost(%s): %v", name, err)
	}
}

func pgBlob(data string) store.Blob {
	sum := sha256.Sum256([]byte(data))
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: []byte(data)}
}

// pgRecord is an attestation of host at benchT0+d that answers nonce.
func pgRecord(host string, d time.Duration, status string, nonce []byte, blobs ...store.Blob) store.AttestationRecord {
	return store.AttestationRecord{Host: host, At: benchT0.Add(d), Status: status, ReasonCode: "code", Reason: "why",
		Clock: &store.ClockInfo{Clock: uint64(d / time.Millisecond)}, Evidence: []byte("evidence"),
		Verdict: []byte("verdict"), DurationMicros: 700, Nonce: nonce, Blobs: blobs,
		Webhook: &store.WebhookDelivery{Event: store.EventStatusChanged, Payload: []byte(host + ":" + status)}}
}

func putPGNonce(t testing.TB, s *sqlstore.Store, value, host string, d time.Duration) []byte {
	t.Helper()
	if err := s.PutNonce(t.Context(), store.Nonce{Value: []byte(value), Host: host, ExpiresAt: benchT0.Add(d)}); err != nil {
		t.Fatalf("PutNonce(%s): %v", value, err)
	}
	return []byte(value)
}

// countRows returns the count query finds in db.
func countRows(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestPostgresBatchFailureWritesNothing: a statement failing late in the
// second batch (the webhook's event is text PostgreSQL refuses: it holds a
// NUL byte) rolls back all that went before it: the nonce is not used up,
// and no evidence, summary, status change or blob is kept. The connection
// goes back to the pool usable: the same record, fixed, then succeeds.
func TestPostgresBatchFailureWritesNothing(t *testing.T) {
	dsn := pgtest.Start(t)
	s, db := open(t, dsn), rawDB(t, dsn)
	newPGHost(t, s, "h1")
	nonce := putPGNonce(t, s, "nonce-1", "h1", time.Hour)

	bad := pgRecord("h1", time.Second, store.StatusPassed, nonce, pgBlob("log"), pgBlob("bundle"))
	bad.Webhook.Event = "host.status_changed\x00"
	changed, err := s.RecordAttestation(t.Context(), bad)
	if err == nil {
		t.Fatalf("RecordAttestation with a NUL in the webhook event succeeded")
	}
	if !strings.Contains(err.Error(), "queue webhook") {
		t.Errorf("RecordAttestation error = %v, want the webhook's insert (the last before COMMIT) refused", err)
	}
	t.Logf("changed = %v, err = %v", changed, err)
	for query, want := range map[string]int{
		"SELECT COUNT(*) FROM nonces WHERE host = 'h1'":                     1,
		"SELECT COUNT(*) FROM latest_evidence":                              0,
		"SELECT COUNT(*) FROM attestation_summaries":                        0,
		"SELECT COUNT(*) FROM status_changes":                               0,
		"SELECT COUNT(*) FROM webhook_deliveries":                           0,
		"SELECT COUNT(*) FROM blob_sets":                                    0,
		"SELECT COUNT(*) FROM blobs":                                        0,
		"SELECT COUNT(*) FROM hosts WHERE status = 'Pending' AND clock = 0": 1,
	} {
		if got := countRows(t, db, query); got != want {
			t.Errorf("after the failed record, %s = %d, want %d", query, got, want)
		}
	}

	// Again: what a failure left (an open or aborted transaction) must not
	// reach the next caller of the connection.
	for range 3 {
		if _, err := s.RecordAttestation(t.Context(), bad); err == nil {
			t.Fatalf("RecordAttestation with a NUL in the webhook event succeeded")
		}
	}
	good := pgRecord("h1", 2*time.Second, store.StatusPassed, nonce, pgBlob("log"), pgBlob("bundle"))
	if changed, err := s.RecordAttestation(t.Context(), good); err != nil || !changed {
		t.Fatalf("RecordAttestation after the failures = %v, %v; want a change", changed, err)
	}
	for query, want := range map[string]int{
		"SELECT COUNT(*) FROM nonces":                0, // used up now
		"SELECT COUNT(*) FROM latest_evidence":       1,
		"SELECT COUNT(*) FROM attestation_summaries": 1,
		"SELECT COUNT(*) FROM status_changes":        1,
		"SELECT COUNT(*) FROM webhook_deliveries":    1,
		"SELECT COUNT(*) FROM blob_set_members":      2,
	} {
		if got := countRows(t, db, query); got != want {
			t.Errorf("after the good record, %s = %d, want %d", query, got, want)
		}
	}
	var idle int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&idle); err != nil {
		t.Fatal(err)
	}
	if idle != 0 {
		t.Errorf("%d connections are left idle in a transaction", idle)
	}
}

// TestPostgresBatchFailureFirstBatch: errors decided between the batches
// (a wrong nonce, an absent host, a blob whose data does not match its
// hash) roll back the first batch's work: the nonce stays.
func TestPostgresBatchFailureFirstBatch(t *testing.T) {
	dsn := pgtest.Start(t)
	s, db := open(t, dsn), rawDB(t, dsn)
	newPGHost(t, s, "h1")
	newPGHost(t, s, "h2")
	nonce := putPGNonce(t, s, "nonce-h1", "h1", time.Hour)
	lie := pgBlob("what the hash says")
	lie.Data = []byte("something else")
	for _, tt := range []struct {
		name string
		r    store.AttestationRecord
		want error
	}{
		{"another host's nonce", pgRecord("h2", time.Second, store.StatusPassed, nonce), store.ErrConflict},
		{"absent host", pgRecord("absent", time.Second, store.StatusPassed, nil), store.ErrNotFound},
		{"blob hash mismatch", pgRecord("h1", time.Second, store.StatusPassed, nonce, pgBlob("fine"), lie), nil},
		{"expired nonce", pgRecord("h1", 2*time.Hour, store.StatusPassed, nonce), store.ErrNotFound},
	} {
		_, err := s.RecordAttestation(t.Context(), tt.r)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if got := countRows(t, db, "SELECT COUNT(*) FROM nonces"); got != 1 {
			t.Errorf("%s: %d nonces left, want 1", tt.name, got)
		}
	}
	for _, table := range []string{"latest_evidence", "attestation_summaries", "status_changes", "blobs", "blob_sets"} {
		if got := countRows(t, db, "SELECT COUNT(*) FROM "+table); got != 0 {
			t.Errorf("%s has %d rows after refused records, want 0", table, got)
		}
	}
}

// TestPostgresNonceRace: of 8 concurrent records answering one nonce,
// exactly one succeeds and the others find no nonce.
func TestPostgresNonceRace(t *testing.T) {
	dsn := pgtest.Start(t)
	s, db := open(t, dsn), rawDB(t, dsn)
	newPGHost(t, s, "h1")
	for round := range 5 {
		nonce := putPGNonce(t, s, fmt.Sprint("nonce-", round), "h1", time.Hour)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				d := time.Duration(round*n+i+1) * time.Second
				_, errs[i] = s.RecordAttestation(t.Context(), pgRecord("h1", d, store.StatusPassed, nonce))
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("round %d: a losing record: err = %v, want ErrNotFound", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d records succeeded, want 1", round, won, n)
		}
		if got := countRows(t, db, "SELECT COUNT(*) FROM attestation_summaries"); got != round+1 {
			t.Errorf("round %d: %d summaries, want %d", round, got, round+1)
		}
	}
}

// TestPostgresCancelledRecord: a record whose context ends while a batch
// waits for a lock returns an error, keeps nothing, and leaves the pool
// usable. Batch 2 ends with COMMIT, which the server holds already when the
// client gives up: without pgx's cancel request the server would commit once
// the lock is released.
func TestPostgresCancelledRecord(t *testing.T) {
	dsn := pgtest.Start(t)
	s := open(t, dsn)
	db := rawDB(t, dsn)
	newPGHost(t, s, "h1")
	if _, err := s.RecordAttestation(t.Context(), pgRecord("h1", time.Second, store.StatusPassed, nil)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, lock string
	}{
		{"batch 1 waits for the host", "SELECT 1 FROM hosts WHERE name = 'h1' FOR UPDATE"},
		{"batch 2 waits for the latest evidence", "SELECT 1 FROM latest_evidence WHERE host = 'h1' FOR UPDATE"},
	} {
		before := countRows(t, db, "SELECT COUNT(*) FROM attestation_summaries")
		nonce := putPGNonce(t, s, "nonce-"+tt.name, "h1", time.Hour)
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), tt.lock); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		_, err = s.RecordAttestation(ctx, pgRecord("h1", time.Minute, store.StatusFailed, nonce))
		cancel()
		if err == nil {
			t.Fatalf("%s: RecordAttestation succeeded while blocked", tt.name)
		}
		// The statement waiting must end before the lock is released.
		waitNoLockWait(t, db)
		tx.Rollback()
		waitIdle(t, db)
		nonces := countRows(t, db, "SELECT COUNT(*) FROM nonces WHERE value = $1", nonce)
		kept := countRows(t, db, "SELECT COUNT(*) FROM attestation_summaries") - before
		changes := countRows(t, db, "SELECT COUNT(*) FROM status_changes WHERE to_status = 'Failed'")
		t.Logf("%s: err = %v; kept %d record(s)", tt.name, err, kept)
		if nonces != 1 || kept != 0 || changes != 0 {
			t.Errorf("%s: after the cancelled record %d nonce, %d new summaries, %d changes; want 1, 0, 0",
				tt.name, nonces, kept, changes)
		}
		if _, err := s.RecordAttestation(t.Context(), pgRecord("h1", time.Hour, store.StatusPassed, nil)); err != nil {
			t.Fatalf("%s: RecordAttestation after the cancelled one: %v", tt.name, err)
		}
		if err := s.PutNonce(t.Context(), store.Nonce{Value: []byte("n-" + tt.name), Host: "h1"}); err != nil {
			t.Fatalf("%s: PutNonce after the cancelled record: %v", tt.name, err)
		}
	}
}

// waitNoLockWait waits until no session of db's database waits for a lock.
func waitNoLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var waiting int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d sessions still wait for a lock after their client gave up", waiting)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIdle waits until no other session of db's database runs a statement:
// the server has finished what a client that gave up had sent.
func waitIdle(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var busy int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still busy", busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPostgresRoundTrips counts the client's turns to speak on the wire
// (each is one round trip: the client sends, then waits for the answer)
// through a proxy on a unix socket, once the connection has prepared the
// statements. Each is measured thrice and the least kept: database/sql
// pings a connection idle for over a second before reusing it.
func TestPostgresRoundTrips(t *testing.T) {
	dsn := pgtest.Start(t)
	p := startTurnProxy(t, dsn)
	s := open(t, p.dsn)
	newPGHost(t, s, "h1")
	ctx := t.Context()
	d := time.Duration(0)
	status := store.StatusPending
	// record records an attestation answering a fresh nonce, counting the
	// round trips of RecordAttestation alone.
	record := func(change bool, blobs ...func() store.Blob) func() error {
		return func() error {
			d += time.Second
			n := putPGNonce(t, s, fmt.Sprint("nonce-", d), "h1", time.Hour)
			if change || status == store.StatusPending {
				status = map[string]string{store.StatusPassed: store.StatusFailed}[status]
				if status == "" {
					status = store.StatusPassed
				}
			}
			var bs []store.Blob
			for _, b := range blobs {
				bs = append(bs, b())
			}
			p.turns.Store(0)
			_, err := s.RecordAttestation(ctx, pgRecord("h1", d, status, n, bs...))
			return err
		}
	}
	stored := func() store.Blob { return pgBlob("stored") }
	fresh := func() store.Blob { return pgBlob(fmt.Sprint("fresh-", d)) }
	nonce := func() error {
		d += time.Second
		p.turns.Store(0)
		return s.PutNonce(ctx, store.Nonce{Value: []byte(fmt.Sprint("n-", d)), Host: "h1", ExpiresAt: benchT0.Add(time.Hour)})
	}
	// Warm up: every statement of each shape prepared on the connection.
	for _, fn := range []func() error{record(true, fresh), record(true, fresh, stored), record(false, stored),
		record(true), record(false), nonce} {
		if err := fn(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		what string
		fn   func() error
		want int
	}{
		{"PutNonce", nonce, 1},
		{"RecordAttestation, no change", record(false), 2},
		{"RecordAttestation, a change", record(true), 2},
		{"RecordAttestation, a stored blob set", record(false, stored), 2},
		{"RecordAttestation, a new blob set", record(false, fresh, stored), 3},
	} {
		got := -1
		for range 3 {
			if err := c.fn(); err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			if n := int(p.turns.Load()); got < 0 || n < got {
				got = n
			}
		}
		t.Logf("%s: %d round trips", c.what, got)
		if got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.what, got, c.want)
		}
	}
}

// turnProxy forwards a PostgreSQL unix socket and counts the turns the
// clients take to send.
type turnProxy struct {
	dsn   string
	turns atomic.Int64
}

// startTurnProxy listens on a socket of its own for the server behind dsn
// and returns the proxy, whose dsn leads through it.
func startTurnProxy(t *testing.T, dsn string) *turnProxy {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sock := "/.s.PGSQL." + q.Get("port")
	dir, err := os.MkdirTemp("", "pgrt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &turnProxy{}
	target := q.Get("host") + sock
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c, target)
		}
	}()
	q.Set("host", dir)
	u.RawQuery = q.Encode()
	p.dsn = u.String()
	return p
}

// forward copies c to the server and back. A turn starts when the client
// sends after the server last did (or first).
func (p *turnProxy) forward(c net.Conn, target string) {
	defer c.Close()
	srv, err := net.Dial("unix", target)
	if err != nil {
		return
	}
	defer srv.Close()
	var clientLast atomic.Bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := srv.Read(buf)
			if n > 0 {
				clientLast.Store(false)
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if !clientLast.Swap(true) {
				p.turns.Add(1)
			}
			if _, werr := srv.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// BenchmarkRecordAttestationPostgres: what one attestation costs on
// PostgreSQL, with and without the nonce it answers, sequentially and from
// several goroutines (replicas' requests in flight at once).
func BenchmarkRecordAttestationPostgres(b *testing.B) {
	b.Run("record", func(b *testing.B) { benchRecordAttestation(b, newPostgres(b)) })
	b.Run("nonce+record", func(b *testing.B) {
		s := newPostgres(b)
		const hosts = 100
		seedHosts(b, s, hosts)
		evidence, verdict := make([]byte, 24<<10), make([]byte, 2<<10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			host := fmt.Sprintf("host-%05d", i%hosts)
			n := store.Nonce{Value: []byte(fmt.Sprintf("nonce-%016d", i)), Host: host, ExpiresAt: benchT0.Add(time.Hour)}
			if err := s.PutNonce(b.Context(), n); err != nil {
				b.Fatalf("PutNonce: %v", err)
			}
			_, err := s.RecordAttestation(b.Context(), store.AttestationRecord{Host: host,
				At: benchT0.Add(time.Duration(i) * time.Millisecond), Status: store.StatusPassed,
				Clock: &store.ClockInfo{Clock: uint64(i)}, Evidence: evidence, Verdict: verdict, DurationMicros: 900,
				Nonce: n.Value, Blobs: []store.Blob{pgBlob("log"), pgBlob("bundle")},
				Credential: seedCred})
			if err != nil {
				b.Fatalf("RecordAttestation: %v", err)
			}
		}
	})
	b.Run("nonce+record-parallel", func(b *testing.B) {
		s := newPostgres(b)
		const hosts = 100
		seedHosts(b, s, hosts)
		evidence, verdict := make([]byte, 24<<10), make([]byte, 2<<10)
		var seq atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := seq.Add(1)
				host := fmt.Sprintf("host-%05d", i%hosts)
				n := store.Nonce{Value: []byte(fmt.Sprintf("nonce-%016d", i)), Host: host, ExpiresAt: benchT0.Add(time.Hour)}
				if err := s.PutNonce(b.Context(), n); err != nil {
					b.Errorf("PutNonce: %v", err)
					return
				}
				_, err := s.RecordAttestation(b.Context(), store.AttestationRecord{Host: host,
					At: benchT0.Add(time.Duration(i) * time.Millisecond), Status: store.StatusPassed,
					Clock: &store.ClockInfo{Clock: uint64(i)}, Evidence: evidence, Verdict: verdict, DurationMicros: 900,
					Nonce: n.Value, Blobs: []store.Blob{pgBlob("log"), pgBlob("bundle")},
					Credential: seedCred})
				if err != nil {
					b.Errorf("RecordAttestation: %v", err)
					return
				}
			}
		})
	})
}
