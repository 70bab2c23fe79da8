package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bootproof/bootproof/internal/store"
)

// Blobs (event logs, bundle files) are stored once by SHA-256. A record
// refers to its blobs through a blob set: the set of hashes it was recorded
// with, itself keyed by a hash of the sorted member hashes. Hosts that boot
// alike share one set, so an attestation whose set is stored already costs
// one primary-key lookup, and the sets and blobs nothing refers to are found
// through indexes. Foreign keys keep a referenced set or blob from being
// deleted.
//
// On PostgreSQL, a record that refers to a set and PruneBlobs must not
// interleave (the prune could judge a set unreferenced just before a record
// commits a reference to it): records take the blobs table in ROW SHARE
// mode, which does not hinder each other, and the prune in EXCLUSIVE mode.
// SQLite's single writer serialises them anyway.

const (
	qLockBlobsShared    = `LOCK TABLE blobs IN ROW SHARE MODE`
	qLockBlobsExclusive = `LOCK TABLE blobs IN EXCLUSIVE MODE`
	qBlobSetExists      = `SELECT 1 FROM blob_sets WHERE hash = ?`
	qBlobExists         = `SELECT 1 FROM blobs WHERE hash = ?`
	qInsertBlob         = `INSERT INTO blobs (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`
	qInsertBlobSet      = `INSERT INTO blob_sets (hash) VALUES (?) ON CONFLICT (hash) DO NOTHING`
	qInsertBlobMember   = `INSERT INTO blob_set_members (set_hash, blob_hash) VALUES (?, ?)
		ON CONFLICT (set_hash, blob_hash) DO NOTHING`
	qGetBlob = `SELECT data FROM blobs WHERE hash = ?`
	// Sets first: deleting one deletes its members, which frees blobs.
	qPruneBlobSets = `DELETE FROM blob_sets WHERE
		NOT EXISTS (SELECT 1 FROM latest_evidence l WHERE l.blob_set = blob_sets.hash) AND
		NOT EXISTS (SELECT 1 FROM status_changes c WHERE c.blob_set = blob_sets.hash)`
	qPruneBlobs = `DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM blob_set_members m WHERE m.blob_hash = blobs.hash)`
)

// blobSetKey returns the key of the set of blobs' hashes (nil when there
// are none) and the blobs sorted by hash without duplicates. The key is the
// hex SHA-256 of the sorted hashes, one per line.
func blobSetKey(blobs []store.Blob) (any, []store.Blob, error) {
	if len(blobs) == 0 {
		return nil, nil, nil
	}
	sorted := slices.Clone(blobs)
	slices.SortFunc(sorted, func(a, b store.Blob) int { return strings.Compare(a.SHA256, b.SHA256) })
	sorted = slices.CompactFunc(sorted, func(a, b store.Blob) bool { return a.SHA256 == b.SHA256 })
	h := sha256.New()
	for _, b := range sorted {
		if !store.IsBlobHash(b.SHA256) {
			return nil, nil, fmt.Errorf("blob hash %.80q is not a lower-case hex SHA-256", b.SHA256)
		}
		h.Write([]byte(b.SHA256))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), sorted, nil
}

// putBlobSet makes sure the set key of blobs is stored with every blob,
// inside a record's transaction, and returns the bytes of the blobs it
// stored (those not stored before): what the record is charged for them.
// The set is checked first: in a steady fleet it is stored already, and
// the blobs need not be looked at.
func (s *Store) putBlobSet(ctx context.Context, c conn, key any, blobs []store.Blob) (int64, error) {
	if s.d.name == postgres.name {
		if _, err := c.exec(ctx, qLockBlobsShared); err != nil {
			return 0, fmt.Errorf("lock blobs: %w", err)
		}
	}
	var one int
	err := c.queryRow(ctx, qBlobSetExists, key).Scan(&one)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("look up blob set: %w", err)
	}
	// Blobs in hash order, so that two transactions storing overlapping
	// sets on PostgreSQL wait for each other rather than deadlock.
	var stored int64
	for _, b := range blobs {
		n, err := putBlob(ctx, c, b)
		if err != nil {
			return 0, err
		}
		stored += n
	}
	if _, err := c.exec(ctx, qInsertBlobSet, key); err != nil {
		return 0, fmt.Errorf("store blob set: %w", err)
	}
	for _, b := range blobs {
		if _, err := c.exec(ctx, qInsertBlobMember, key, b.SHA256); err != nil {
			return 0, fmt.Errorf("store blob set member %s: %w", b.SHA256, err)
		}
	}
	return stored, nil
}

// putBlob stores b unless a blob with its hash is stored, and returns the
// bytes it stored. The data is sent only when absent: most blobs arrive
// from many hosts.
func putBlob(ctx context.Context, c conn, b store.Blob) (int64, error) {
	var one int
	err := c.queryRow(ctx, qBlobExists, b.SHA256).Scan(&one)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("look up blob %s: %w", b.SHA256, err)
	}
	// Checked here, once per distinct blob: a wrong hash would serve wrong
	// bytes to every record that names it.
	if sum := sha256.Sum256(b.Data); hex.EncodeToString(sum[:]) != b.SHA256 {
		return 0, fmt.Errorf("blob %s: its data hashes to %x", b.SHA256, sum)
	}
	if _, err := c.exec(ctx, qInsertBlob, b.SHA256, blob(b.Data)); err != nil {
		return 0, fmt.Errorf("store blob %s: %w", b.SHA256, err)
	}
	return int64(len(b.Data)), nil
}

// GetBlobs returns the stored blobs among hashes, read in one snapshot.
func (s *Store) GetBlobs(ctx context.Context, hashes []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	err := s.withReadTx(ctx, func(c conn) error {
		for _, h := range hashes {
			if _, done := out[h]; done {
				continue
			}
			var data []byte
			err := c.queryRow(ctx, qGetBlob, h).Scan(&data)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("get blob %.80q: %w", h, err)
			}
			out[h] = fromBlob(data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PruneBlobs deletes the blob sets no record refers to, then the blobs in
// no set.
func (s *Store) PruneBlobs(ctx context.Context) (int64, error) {
	var n int64
	err := s.withTx(ctx, func(c conn) error {
		if s.d.name == postgres.name {
			if _, err := c.exec(ctx, qLockBlobsExclusive); err != nil {
				return fmt.Errorf("prune blobs: lock: %w", err)
			}
		}
		if _, err := c.exec(ctx, qPruneBlobSets); err != nil {
			return fmt.Errorf("prune blob sets: %w", err)
		}
		res, err := c.exec(ctx, qPruneBlobs)
		if err != nil {
			return fmt.Errorf("prune blobs: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("prune blobs: rows affected: %w", err)
		}
		return nil
	})
	return n, err
}
