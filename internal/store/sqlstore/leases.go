package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

const (
	// qAcquireLease inserts the lease or takes it over when it is free or
	// already ours; the conditional upsert is atomic in both dialects, so
	// one row changes for exactly one contender.
	qAcquireLease = `INSERT INTO leases (name, owner, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
		WHERE leases.owner = excluded.owner OR leases.lease_until <= ?`
	qGetKV         = `SELECT value FROM kv WHERE key = ?`
	qPutKVIfAbsent = `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
)

// AcquireLease takes or renews the named lease for owner.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	if name == "" || owner == "" {
		return false, fmt.Errorf("acquire lease %q for %q: empty name or owner", name, owner)
	}
	res, err := s.write().exec(ctx, qAcquireLease, name, owner, micros(until), micros(now))
	if err != nil {
		return false, fmt.Errorf("acquire lease %q for %q: %w", name, owner, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: rows affected: %w", name, err)
	}
	return n == 1, nil
}

// GetKV returns the value stored under key.
func (s *Store) GetKV(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.read().queryRow(ctx, qGetKV, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get setting %q: %w", key, err)
	}
	return fromBlob(v), nil
}

// PutKVIfAbsent stores value unless key has one; it returns the stored value.
func (s *Store) PutKVIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	if key == "" {
		return nil, errors.New("put setting: empty key")
	}
	var stored []byte
	err := s.withTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, qPutKVIfAbsent, key, blob(value)); err != nil {
			return fmt.Errorf("put setting %q: %w", key, err)
		}
		if err := c.queryRow(ctx, qGetKV, key).Scan(&stored); err != nil {
			return fmt.Errorf("put setting %q: read back: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fromBlob(stored), nil
}
