package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Dropping a status change's evidence keeps its row (statuses, time,
// reasons, the verdict's JSON) and points it at a blob set holding only its
// verdict's blob, then deletes the set it had and that set's blobs unless
// another record still refers to them: blobs are shared by SHA-256 between
// hosts and records, and a drop must not take one from a record that keeps
// it. The deletion is PruneBlobs' for one set, under the same EXCLUSIVE lock
// on PostgreSQL, so that no record can take a reference to the set in
// between.

const (
	// qKeptEvidence lists a host's changes that keep evidence, newest first
	// (index status_changes_kept).
	qKeptEvidence = `SELECT id, at, evidence_bytes FROM status_changes
		WHERE host = ? AND evidence_bytes > 0 ORDER BY at DESC, id DESC`
	qChangeBlobs = `SELECT blob_set, verdict_blob FROM status_changes WHERE id = ?`
	qDropChange  = `UPDATE status_changes SET evidence = NULL, evidence_bytes = 0, evidence_dropped = ?, blob_set = ?
		WHERE id = ?`
	qSetMembers  = `SELECT blob_hash FROM blob_set_members WHERE set_hash = ?`
	qPruneOneSet = `DELETE FROM blob_sets WHERE hash = ? AND
		NOT EXISTS (SELECT 1 FROM latest_evidence l WHERE l.blob_set = blob_sets.hash) AND
		NOT EXISTS (SELECT 1 FROM status_changes c WHERE c.blob_set = blob_sets.hash)`
	qPruneOneBlob = `DELETE FROM blobs WHERE hash = ? AND
		NOT EXISTS (SELECT 1 FROM blob_set_members m WHERE m.blob_hash = blobs.hash)`
	// qNotNewest is the condition that a change c with evidence is not its
	// host's newest with evidence, which is never dropped.
	qNotNewest = `EXISTS (SELECT 1 FROM status_changes n WHERE n.host = c.host AND n.evidence_bytes > 0
		AND (n.at > c.at OR (n.at = c.at AND n.id > c.id)))`
	qOlderEvidence = `SELECT id FROM status_changes c WHERE c.evidence_bytes > 0 AND c.at < ? AND ` + qNotNewest +
		` ORDER BY c.at, c.id LIMIT ?`
	qKeptTotal      = `SELECT COALESCE(SUM(evidence_bytes), 0) FROM status_changes WHERE evidence_bytes > 0`
	qOldestEvidence = `SELECT id, evidence_bytes FROM status_changes c WHERE c.evidence_bytes > 0 AND ` + qNotNewest +
		` ORDER BY c.at, c.id LIMIT ?`
	retainBatch = 200
)

// keptChange is a status change that keeps its evidence.
type keptChange struct {
	id    int64
	at    time.Time
	bytes int64
}

// evidenceDrop is a change whose evidence is to be dropped, and why.
type evidenceDrop struct {
	id     int64
	reason string
}

// LimitEvidence keeps host's status-change evidence within lim.
func (s *Store) LimitEvidence(ctx context.Context, host string, lim store.EvidenceLimits, now time.Time) (int, error) {
	// Most calls drop nothing: plan on a read, and take the lock only to
	// drop, planning again under it.
	kept, err := keptEvidence(ctx, s.read(), host)
	if err != nil {
		return 0, fmt.Errorf("limit evidence of host %q: %w", host, err)
	}
	if len(planHostDrops(kept, lim, now)) == 0 {
		return 0, nil
	}
	var n int
	err = s.withTx(ctx, func(c conn) error {
		if err := s.lockBlobsForDrop(ctx, c); err != nil {
			return err
		}
		kept, err := keptEvidence(ctx, c, host)
		if err != nil {
			return err
		}
		drops := planHostDrops(kept, lim, now)
		n = len(drops)
		return s.dropEvidence(ctx, c, drops)
	})
	if err != nil {
		return 0, fmt.Errorf("limit evidence of host %q: %w", host, err)
	}
	return n, nil
}

// planHostDrops picks, among a host's changes with evidence (newest first),
// those to drop under lim: never the newest; those past the newest
// PerWindow within Window before now; then the oldest while the rest are
// over MaxBytes.
func planHostDrops(kept []keptChange, lim store.EvidenceLimits, now time.Time) []evidenceDrop {
	dropped := make([]bool, len(kept))
	var drops []evidenceDrop
	if lim.PerWindow > 0 && lim.Window > 0 {
		inWindow := 0
		for i, k := range kept {
			if !k.at.After(now.Add(-lim.Window)) {
				break
			}
			if inWindow++; inWindow > lim.PerWindow && i > 0 {
				dropped[i] = true
				drops = append(drops, evidenceDrop{k.id, store.DroppedHostRate})
			}
		}
	}
	if lim.MaxBytes <= 0 {
		return drops
	}
	var total int64
	for i, k := range kept {
		if !dropped[i] {
			total += k.bytes
		}
	}
	for i := len(kept) - 1; i > 0 && total > lim.MaxBytes; i-- {
		if !dropped[i] {
			total -= kept[i].bytes
			drops = append(drops, evidenceDrop{kept[i].id, store.DroppedHostCap})
		}
	}
	return drops
}

// keptEvidence lists host's changes that keep evidence, newest first.
func keptEvidence(ctx context.Context, c conn, host string) ([]keptChange, error) {
	rows, err := c.query(ctx, qKeptEvidence, host)
	if err != nil {
		return nil, fmt.Errorf("list kept evidence: %w", err)
	}
	defer rows.Close()
	var out []keptChange
	for rows.Next() {
		var k keptChange
		var at int64
		if err := rows.Scan(&k.id, &at, &k.bytes); err != nil {
			return nil, fmt.Errorf("list kept evidence: %w", err)
		}
		k.at = fromMicros(at)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list kept evidence: %w", err)
	}
	return out, nil
}

// RetainEvidence drops the fleet's evidence older than before, then the
// oldest while the kept total is over maxBytes; a transaction per batch.
func (s *Store) RetainEvidence(ctx context.Context, before time.Time, maxBytes int64) (int, error) {
	n := 0
	if !before.IsZero() {
		for {
			got, err := s.retainBatch(ctx, func(c conn) ([]evidenceDrop, error) {
				return olderEvidence(ctx, c, before)
			})
			n += got
			if err != nil {
				return n, fmt.Errorf("retain evidence: %w", err)
			}
			if got < retainBatch {
				break
			}
		}
	}
	if maxBytes <= 0 {
		return n, nil
	}
	for {
		got, err := s.retainBatch(ctx, func(c conn) ([]evidenceDrop, error) {
			return evidenceOverCap(ctx, c, maxBytes)
		})
		n += got
		if err != nil {
			return n, fmt.Errorf("retain evidence: %w", err)
		}
		if got == 0 {
			return n, nil
		}
	}
}

// retainBatch drops, in one transaction, the changes plan picks.
func (s *Store) retainBatch(ctx context.Context, plan func(c conn) ([]evidenceDrop, error)) (int, error) {
	var n int
	err := s.withTx(ctx, func(c conn) error {
		if err := s.lockBlobsForDrop(ctx, c); err != nil {
			return err
		}
		drops, err := plan(c)
		if err != nil {
			return err
		}
		n = len(drops)
		return s.dropEvidence(ctx, c, drops)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// olderEvidence picks up to retainBatch changes recorded before `before`.
func olderEvidence(ctx context.Context, c conn, before time.Time) ([]evidenceDrop, error) {
	rows, err := c.query(ctx, qOlderEvidence, micros(before), retainBatch)
	if err != nil {
		return nil, fmt.Errorf("list old evidence: %w", err)
	}
	defer rows.Close()
	var drops []evidenceDrop
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list old evidence: %w", err)
		}
		drops = append(drops, evidenceDrop{id, store.DroppedRetention})
	}
	return drops, rows.Err()
}

// evidenceOverCap picks, oldest first, up to retainBatch changes whose
// evidence takes the fleet's kept total over maxBytes.
func evidenceOverCap(ctx context.Context, c conn, maxBytes int64) ([]evidenceDrop, error) {
	var total int64
	if err := c.queryRow(ctx, qKeptTotal).Scan(&total); err != nil {
		return nil, fmt.Errorf("sum kept evidence: %w", err)
	}
	if total <= maxBytes {
		return nil, nil
	}
	rows, err := c.query(ctx, qOldestEvidence, retainBatch)
	if err != nil {
		return nil, fmt.Errorf("list oldest evidence: %w", err)
	}
	defer rows.Close()
	var drops []evidenceDrop
	for rows.Next() && total > maxBytes {
		var id, bytes int64
		if err := rows.Scan(&id, &bytes); err != nil {
			return nil, fmt.Errorf("list oldest evidence: %w", err)
		}
		total -= bytes
		drops = append(drops, evidenceDrop{id, store.DroppedFleetCap})
	}
	return drops, rows.Err()
}

// lockBlobsForDrop keeps records from taking a reference to a blob set
// while drops judge whether it is still used (PostgreSQL; SQLite has one
// writer).
func (s *Store) lockBlobsForDrop(ctx context.Context, c conn) error {
	if s.d.name != postgres.name {
		return nil
	}
	if _, err := c.exec(ctx, qLockBlobsExclusive); err != nil {
		return fmt.Errorf("lock blobs: %w", err)
	}
	return nil
}

// dropEvidence drops the evidence of each change in drops, inside the
// caller's transaction.
func (s *Store) dropEvidence(ctx context.Context, c conn, drops []evidenceDrop) error {
	for _, d := range drops {
		if err := s.dropOne(ctx, c, d); err != nil {
			return fmt.Errorf("drop evidence of status change %d: %w", d.id, err)
		}
	}
	return nil
}

// dropOne drops one change's evidence: the row keeps a set of its verdict's
// blob alone, and the set it had goes unless still used.
func (s *Store) dropOne(ctx context.Context, c conn, d evidenceDrop) error {
	var had sql.NullString
	var verdictBlob string
	if err := c.queryRow(ctx, qChangeBlobs, d.id).Scan(&had, &verdictBlob); err != nil {
		return err
	}
	keep, err := s.verdictSet(ctx, c, verdictBlob)
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, qDropChange, d.reason, keep, d.id); err != nil {
		return err
	}
	if !had.Valid || had.String == keep {
		return nil
	}
	return pruneSet(ctx, c, had.String)
}

// verdictSet returns the key of the set holding only the verdict blob h
// (stored already), storing the set when needed; nil when there is none.
func (s *Store) verdictSet(ctx context.Context, c conn, h string) (any, error) {
	if h == "" {
		return nil, nil
	}
	var one int
	err := c.queryRow(ctx, qBlobExists, h).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // a verdict blob that was never stored: nothing to keep
	}
	if err != nil {
		return nil, fmt.Errorf("look up verdict blob: %w", err)
	}
	key, blobs, err := blobSetKey([]store.Blob{{SHA256: h}})
	if err != nil {
		return nil, err
	}
	if _, err := s.putBlobSet(ctx, c, key, blobs); err != nil {
		return nil, err
	}
	return key, nil
}

// pruneSet deletes the blob set key and then its blobs, each unless a
// record or another set still refers to it.
func pruneSet(ctx context.Context, c conn, key string) error {
	members, err := setMembers(ctx, c, key)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, qPruneOneSet, key)
	if err != nil {
		return fmt.Errorf("prune blob set: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // still used
	}
	for _, h := range members {
		if _, err := c.exec(ctx, qPruneOneBlob, h); err != nil {
			return fmt.Errorf("prune blob %s: %w", h, err)
		}
	}
	return nil
}

// setMembers lists the blob hashes of a set.
func setMembers(ctx context.Context, c conn, key string) ([]string, error) {
	rows, err := c.query(ctx, qSetMembers, key)
	if err != nil {
		return nil, fmt.Errorf("list blob set members: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("list blob set members: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
