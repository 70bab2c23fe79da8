package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Summaries are one row per attestation (attestation_summaries) for a short
// raw window, then one row per host, UTC hour and status
// (attestation_rollups). Hours are bucketed in SQL on the stored
// microseconds, so both dialects cut them alike.

const hourMicros = int64(time.Hour / time.Microsecond)

const (
	// qSummaries lists raw rows and roll-ups by time, newest first (kind 0
	// is raw, 1 a roll-up): the raw rows come first, as a roll-up's hour
	// starts before the rows not yet folded (rows recorded late aside).
	qSummaries = `SELECT at, status, reason_code, duration_micros, 1, duration_micros, duration_micros, at, 0, id
		FROM attestation_summaries WHERE host = ? AND at >= ?
		UNION ALL
		SELECT hour, status, last_reason_code, total_duration_micros, attestations, min_duration_micros,
			max_duration_micros, last_at, 1, 0
		FROM attestation_rollups WHERE host = ? AND hour > ?
		ORDER BY 1 DESC, 9, 2, 10 DESC LIMIT ?`
	// qRollUp folds the raw rows up to a time into roll-ups, merging with
	// the roll-ups already made of the same hours (earlier batches, rows
	// that arrived late).
	// Each group's reason code is its latest row's (rn = 1). The WHERE true
	// keeps SQLite from reading ON CONFLICT as a join's ON.
	qRollUp = `INSERT INTO attestation_rollups (host, hour, status, attestations, min_duration_micros,
			max_duration_micros, total_duration_micros, last_at, last_reason_code)
		SELECT host, hour, status, COUNT(*), MIN(duration_micros), MAX(duration_micros), SUM(duration_micros),
			MAX(at), MAX(CASE WHEN rn = 1 THEN reason_code END)
		FROM (SELECT host, at - at % 3600000000 AS hour, status, duration_micros, at, reason_code,
				ROW_NUMBER() OVER (PARTITION BY host, at - at % 3600000000, status ORDER BY at DESC, id DESC) AS rn
			FROM attestation_summaries WHERE at <= ?) raw
		WHERE true
		GROUP BY host, hour, status
		ON CONFLICT (host, hour, status) DO UPDATE SET
			attestations = attestation_rollups.attestations + excluded.attestations,
			min_duration_micros = CASE WHEN excluded.min_duration_micros < attestation_rollups.min_duration_micros
				THEN excluded.min_duration_micros ELSE attestation_rollups.min_duration_micros END,
			max_duration_micros = CASE WHEN excluded.max_duration_micros > attestation_rollups.max_duration_micros
				THEN excluded.max_duration_micros ELSE attestation_rollups.max_duration_micros END,
			total_duration_micros = attestation_rollups.total_duration_micros + excluded.total_duration_micros,
			last_at = CASE WHEN excluded.last_at >= attestation_rollups.last_at
				THEN excluded.last_at ELSE attestation_rollups.last_at END,
			last_reason_code = CASE WHEN excluded.last_at >= attestation_rollups.last_at
				THEN excluded.last_reason_code ELSE attestation_rollups.last_reason_code END`
	qDeleteRaw    = `DELETE FROM attestation_summaries WHERE at < ?`
	qPruneRollUps = `DELETE FROM attestation_rollups WHERE hour <= ?`
	// qRollUpBound is the time of the row after a batch's worth, when there
	// are more rows than that before the cutoff.
	qRollUpBound  = `SELECT at FROM attestation_summaries WHERE at < ? ORDER BY at LIMIT 1 OFFSET ?`
	qCountFolds   = `SELECT COUNT(*) FROM attestation_summaries WHERE at <= ?`
	qDeleteFolded = `DELETE FROM attestation_summaries WHERE at <= ?`
)

// Summaries returns a host's raw summaries since a time, then its roll-ups
// of hours that end after it, newest first.
func (s *Store) Summaries(ctx context.Context, host string, since time.Time, limit int) ([]store.AttestationSummary, error) {
	from := micros(since)
	rows, err := s.read().query(ctx, qSummaries, host, from, host, from-hourMicros, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("summaries of host %q: %w", host, err)
	}
	defer rows.Close()
	var out []store.AttestationSummary
	for rows.Next() {
		a, err := scanSummary(rows, host)
		if err != nil {
			return nil, fmt.Errorf("summaries of host %q: %w", host, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summaries of host %q: %w", host, err)
	}
	return out, nil
}

func scanSummary(rows *sql.Rows, host string) (store.AttestationSummary, error) {
	a := store.AttestationSummary{Host: host}
	var at, last, kind, id int64
	err := rows.Scan(&at, &a.Status, &a.ReasonCode, &a.DurationMicros, &a.Count, &a.MinDurationMicros,
		&a.MaxDurationMicros, &last, &kind, &id)
	if err != nil {
		return a, err
	}
	a.At, a.LastAt = fromMicros(at), fromMicros(last)
	if kind == 1 {
		a.Period = time.Hour
	}
	return a, nil
}

// defaultRollUpBatch bounds the rows one roll-up transaction folds: about
// 60 ms of SQLite's single writer (measured 31 us a row with modernc), which
// attestations wait behind.
const defaultRollUpBatch = 2000

// RollUpSummaries folds the raw summaries older than before, oldest first,
// a batch per transaction.
func (s *Store) RollUpSummaries(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, last, err := s.rollUpBatch(ctx, micros(before))
		total += n
		if err != nil {
			return total, fmt.Errorf("roll up summaries before %s: %w", before.Format(time.RFC3339), err)
		}
		if last {
			return total, nil
		}
	}
}

// rollUpBatch folds up to a batch of the oldest raw summaries before cutoff
// (more when rows share the last one's time) and reports whether it folded
// the last of them.
func (s *Store) rollUpBatch(ctx context.Context, cutoff int64) (n int64, last bool, err error) {
	batch := s.rollUpBatchRows
	if batch <= 0 {
		batch = defaultRollUpBatch
	}
	// On PostgreSQL the bound, the fold and the delete must see the same
	// rows: a row committed between them would be deleted unfolded. One
	// snapshot for the transaction does that; SQLite's single writer does it
	// anyway.
	var opts *sql.TxOptions
	if s.d.name == postgres.name {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	}
	err = s.withTxOpts(ctx, opts, func(c conn) error {
		// Rows at or before bound are folded.
		bound := cutoff - 1
		err := c.queryRow(ctx, qRollUpBound, cutoff, int64(batch)).Scan(&bound)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			last = true
		case err != nil:
			return fmt.Errorf("find batch: %w", err)
		}
		// Counted first: an upsert's RowsAffected counts groups, not rows.
		if err := c.queryRow(ctx, qCountFolds, bound).Scan(&n); err != nil {
			return fmt.Errorf("count summaries to roll up: %w", err)
		}
		if n == 0 {
			return nil
		}
		if _, err := c.exec(ctx, qRollUp, bound); err != nil {
			return fmt.Errorf("roll up: %w", err)
		}
		if _, err := c.exec(ctx, qDeleteFolded, bound); err != nil {
			return fmt.Errorf("delete rolled-up summaries: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, last, nil
}

// PruneSummaries deletes raw summaries older than before and the roll-ups
// of hours that ended by then.
func (s *Store) PruneSummaries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.withTx(ctx, func(c conn) error {
		for _, step := range []struct {
			query string
			arg   int64
		}{
			{qDeleteRaw, micros(before)},
			{qPruneRollUps, micros(before) - hourMicros},
		} {
			res, err := c.exec(ctx, step.query, step.arg)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("rows affected: %w", err)
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune summaries before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
