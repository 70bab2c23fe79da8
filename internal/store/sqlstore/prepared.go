package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The statements every attestation runs are prepared once per connection
// and reused: modernc.org/sqlite otherwise parses and plans each one on every
// call, which cost about an eighth of the verifier's CPU. On PostgreSQL
// nothing is prepared here: pgx already prepares and caches every statement
// per connection, and database/sql's prepared statements would only add a
// wrapper per call inside transactions (measured: no faster, 25 more
// allocations per RecordAttestation).

// hotWrites are the write pool's prepared statements: what PutNonce and
// RecordAttestation run.
func hotWrites(d dialect) []string {
	return []string{
		qPutNonce, qTakeNonce, qSweepNonces,
		qLockHost + d.forUpdate, qRecordHost, qPutLatest, qInsertSummary, qInsertChange,
		qInsertDelivery, qBlobSetExists,
	}
}

// hotReads are the read pool's: what the agent path reads (the host on every
// request, its group's policy when the cache misses) and the host page.
func hotReads() []string {
	return []string{qGetHost, qGetGroup, qLatestEvidence, qGetBlob}
}

// preparedSet holds a pool's prepared statements by query text. It is
// filled at Open and read-only after, so it needs no lock.
type preparedSet struct {
	m map[string]*sql.Stmt
}

// get returns query's statement, or nil when it is not prepared.
func (p *preparedSet) get(query string) *sql.Stmt {
	if p == nil {
		return nil
	}
	return p.m[query]
}

// prepare prepares queries (in d's placeholder syntax) on db.
func prepare(ctx context.Context, db *sql.DB, d dialect, queries []string) (*preparedSet, error) {
	p := &preparedSet{m: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		if _, ok := p.m[q]; ok {
			continue
		}
		st, err := db.PrepareContext(ctx, d.q(q))
		if err != nil {
			p.close()
			return nil, fmt.Errorf("prepare %.60q: %w", q, err)
		}
		p.m[q] = st
	}
	return p, nil
}

func (p *preparedSet) close() error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, st := range p.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// prepareHot prepares the hot statements on both SQLite pools.
func (s *Store) prepareHot(ctx context.Context) error {
	if s.d.name != sqlite.name {
		return nil
	}
	var err error
	if s.wp, err = prepare(ctx, s.w, s.d, hotWrites(s.d)); err != nil {
		return err
	}
	s.rp, err = prepare(ctx, s.r, s.d, hotReads())
	return err
}
