package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/bootproof/bootproof/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on SQLite or PostgreSQL.
type Store struct {
	d dialect
	// w runs every write. On SQLite it holds exactly one connection, so
	// writers queue in Go instead of failing with SQLITE_BUSY.
	w *sql.DB
	// r runs reads. On SQLite it is a separate pool of query-only
	// connections that WAL lets read beside the writer; on PostgreSQL it is w.
	r *sql.DB
	// wp and rp are the hot statements prepared on w and r (none on
	// PostgreSQL: see prepared.go).
	wp, rp *preparedSet
	// ckpt checkpoints SQLite's WAL in the background (nil on PostgreSQL).
	ckpt *checkpointer
	// group commits SQLite's write transactions in groups (groupcommit.go;
	// nil on PostgreSQL, whose writers do not queue for one connection).
	group *groupCommitter
	// rollUpBatchRows overrides defaultRollUpBatch, for tests.
	rollUpBatchRows int
}

// Open opens the store named by dsn and brings its schema up to date.
//
// A dsn starting with "postgres://" or "postgresql://" is a PostgreSQL
// connection URL (pgx syntax). Anything else is a SQLite database: a file path
// or a "file:" URI, which is created when absent. SQLite is opened in WAL
// mode with a busy timeout, foreign keys on and synchronous=NORMAL.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("open store: empty data source name")
	}
	var s *Store
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s, err = openPostgres(ctx, dsn)
	} else {
		s, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(dsn), err)
	}
	// After the migration: the statements name its tables.
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(dsn), err)
	}
	return s, nil
}

// pgMaxConns bounds a store's PostgreSQL sessions unless SetMaxConns says
// otherwise: with replicas, keep their sum under the server's
// max_connections.
const (
	pgMaxConns     = 32
	pgConnIdleTime = 5 * time.Minute
)

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	// As many kept idle as may be open: a connection closed for being one
	// idle too many is opened again moments later when the load comes in
	// waves, and each new one costs a PostgreSQL backend process and the
	// preparing of every hot statement again (with 16 kept idle of 32,
	// waves of 64 requests closed and reopened sessions every time:
	// TestPostgresKeepsItsSessions). Idle ones are closed after
	// pgConnIdleTime, when the load has gone.
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(pgMaxConns)
	db.SetConnMaxIdleTime(pgConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s: %w", redact(dsn), err)
	}
	return &Store{d: postgres, w: db, r: db}, nil
}

// sqlitePragmas are set on every SQLite connection. busy_timeout still
// matters with a single writer: another process (a second verifier on the
// same file, the sqlite3 shell) may hold the lock.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

func openSQLite(ctx context.Context, dsn string) (*Store, error) {
	if !strings.HasPrefix(dsn, "file:") && strings.ContainsAny(dsn, "?#") {
		return nil, fmt.Errorf("open sqlite %q: a path may not contain '?' or '#'; use a file: URI", dsn)
	}
	if strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
		// Each pooled connection would get its own empty database.
		return nil, fmt.Errorf("open sqlite %q: in-memory databases are not supported; use a file", dsn)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// The writer begins IMMEDIATE so that a read-then-write transaction takes
	// the write lock up front and cannot fail to upgrade later.
	w, err := sql.Open("sqlite", dsn+sep+sqlitePragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerAutoCheckpointPages))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := pingSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	r, err := sql.Open("sqlite", dsn+sep+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s for reading: %w", dsn, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	ckpt, err := startCheckpointer(ctx, dsn+sep+sqlitePragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	s := &Store{d: sqlite, w: w, r: r, ckpt: ckpt}
	s.group = newGroupCommitter(w, func(tx *sql.Tx) conn { return conn{d: s.d, e: tx, tx: tx, p: s.wp} })
	return s, nil
}

// SetMaxConns bounds the PostgreSQL sessions the store keeps open and
// idle to n (instead of pgMaxConns), so that replicas sharing a server can
// be kept within its max_connections and its memory: each session is a
// backend process. SQLite has one writer, so a bound there is refused as a
// mistake.
func (s *Store) SetMaxConns(n int) error {
	if s.d.name != postgres.name {
		return fmt.Errorf("database sessions: a bound is for PostgreSQL; SQLite writes through one connection")
	}
	if n < 1 {
		return fmt.Errorf("database sessions: bound %d, want 1 or more", n)
	}
	s.w.SetMaxOpenConns(n)
	s.w.SetMaxIdleConns(n)
	return nil
}

// pingSQLite opens db's first connection, which sets the pragmas. Switching
// a new file to WAL needs an exclusive lock, and SQLite reports SQLITE_BUSY
// at once, without the busy timeout, when two processes (or stores) open a
// new file together; the switch is retried for as long as the timeout.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// Close closes the database connections.
func (s *Store) Close() error {
	s.group.close()
	err := s.ckpt.stop()
	err = errors.Join(err, s.wp.close())
	if s.rp != s.wp {
		err = errors.Join(err, s.rp.close())
	}
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Dialect names the database behind the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// redact hides a password in a connection URL, for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// Show no part of what may hold a password.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable URL)"
	}
	if u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
