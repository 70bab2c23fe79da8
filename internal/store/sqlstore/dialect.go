package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds only what differs between SQLite and PostgreSQL. Queries are
// written once, with '?' placeholders and the syntax both accept.
type dialect struct {
	name string
	// forUpdate locks the selected rows until the transaction ends. SQLite
	// needs no row lock: its one writer connection serialises writers.
	forUpdate string
	// skipLocked makes concurrent claimers pass over each other's rows.
	skipLocked string
	// rebound caches queries with '?' rewritten to '$n'.
	rebound *sync.Map
}

var (
	sqlite   = dialect{name: "sqlite"}
	postgres = dialect{name: "postgres", forUpdate: " FOR UPDATE", skipLocked: " FOR UPDATE SKIP LOCKED",
		rebound: new(sync.Map)}
)

// q returns query in the dialect's placeholder syntax.
func (d dialect) q(query string) string {
	if d.rebound == nil {
		return query
	}
	if v, ok := d.rebound.Load(query); ok {
		return v.(string)
	}
	r := rebind(query)
	d.rebound.Store(query, r)
	return r
}

// rebind rewrites '?' placeholders to PostgreSQL's '$1', '$2', ... The
// queries in this package have no '?' inside string literals.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// isUniqueViolation reports whether err is a primary key or unique
// constraint violation.
func isUniqueViolation(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries in the store's dialect on a database or transaction.
// Queries the pool prepared at Open (p) run as prepared statements; the
// others are prepared by the driver on every call.
type conn struct {
	d  dialect
	e  execer
	tx *sql.Tx      // set when e is a transaction
	p  *preparedSet // the prepared statements of the pool e runs on
}

// stmt returns query's prepared statement, bound to the transaction when c
// runs one, or nil when query is not prepared.
func (c conn) stmt(ctx context.Context, query string) *sql.Stmt {
	st := c.p.get(query)
	if st == nil || c.tx == nil {
		return st
	}
	// Reuses the statement this connection prepared before; closed with
	// the transaction.
	return c.tx.StmtContext(ctx, st)
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.e.ExecContext(ctx, c.d.q(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.e.QueryContext(ctx, c.d.q(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.e.QueryRowContext(ctx, c.d.q(query), args...)
}

// withTx runs fn in a write transaction, committed when fn returns nil.
func (s *Store) withTx(ctx context.Context, fn func(c conn) error) error {
	return s.withTxOpts(ctx, nil, fn)
}

// withTxOpts is withTx at another isolation level.
func (s *Store) withTxOpts(ctx context.Context, opts *sql.TxOptions, fn func(c conn) error) error {
	if s.group != nil && opts == nil {
		return s.group.do(ctx, fn)
	}
	tx, err := s.w.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(conn{d: s.d, e: tx, tx: tx, p: s.wp}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// withReadTx runs fn in a transaction that is always rolled back, so that
// several reads see one snapshot.
func (s *Store) withReadTx(ctx context.Context, fn func(c conn) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer tx.Rollback()
	return fn(conn{d: s.d, e: tx, tx: tx, p: s.rp})
}

// read runs single statements on the read pool.
func (s *Store) read() conn { return conn{d: s.d, e: s.r, p: s.rp} }

// write runs single statements on the write pool.
func (s *Store) write() conn { return conn{d: s.d, e: s.w, p: s.wp} }
