package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Nonces and enrolment challenges are single use: Take deletes the row and
// returns what it held in one statement (DELETE ... RETURNING), so that of
// several concurrent callers exactly one gets it. Expired rows are swept by
// every Take, which keeps both tables as small as the number in flight.

const (
	qPutNonce        = `INSERT INTO nonces (value, host, expires_at) VALUES (?, ?, ?)`
	qTakeNonce       = `DELETE FROM nonces WHERE value = ? RETURNING host, expires_at`
	qSweepNonces     = `DELETE FROM nonces WHERE expires_at <= ?`
	qPutChallenge    = `INSERT INTO challenges (id, host, group_name, request, secret_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?)`
	qTakeChallenge   = `DELETE FROM challenges WHERE id = ? RETURNING host, group_name, request, secret_hash, expires_at`
	qSweepChallenges = `DELETE FROM challenges WHERE expires_at <= ?`
)

// PutNonce stores a fresh nonce.
func (s *Store) PutNonce(ctx context.Context, n store.Nonce) error {
	if len(n.Value) == 0 {
		return errors.New("put nonce: empty value")
	}
	// In a transaction on SQLite: issued nonces are committed in groups
	// with the attestations being recorded (groupcommit.go). On PostgreSQL
	// the nonces table is unlogged (migration 0006): its rows write no WAL
	// and its commits wait for no flush. A nonce lost in a crash only fails
	// its evidence (nonce.unknown, the agent fetches another). Taking the
	// nonce is part of recording the verdict, which waits for its flush.
	put := func(c conn) error {
		_, err := c.exec(ctx, qPutNonce, n.Value, n.Host, micros(n.ExpiresAt))
		return err
	}
	var err error
	if s.d.name == postgres.name {
		err = s.putNoncePG(ctx, n) // in one round trip: pgbatch.go
	} else {
		err = s.withTx(ctx, put)
	}
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("put nonce for host %q: %w", n.Host, store.ErrConflict)
		}
		return fmt.Errorf("put nonce for host %q: %w", n.Host, err)
	}
	return nil
}

// TakeNonce removes and returns a nonce that has not expired at now.
func (s *Store) TakeNonce(ctx context.Context, value []byte, now time.Time) (store.Nonce, error) {
	n := store.Nonce{Value: append([]byte(nil), value...)}
	err := s.withTx(ctx, func(c conn) (err error) {
		n.Host, n.ExpiresAt, err = takeNonce(ctx, c, value, now)
		return err
	})
	if err != nil {
		return store.Nonce{}, err
	}
	// Checked after the commit: an expired nonce is used up all the same.
	if !now.Before(n.ExpiresAt) {
		return store.Nonce{}, fmt.Errorf("take nonce for host %q: expired at %s: %w", n.Host,
			n.ExpiresAt.Format(time.RFC3339), store.ErrNotFound)
	}
	return n, nil
}

// PutChallenge stores an enrolment challenge.
func (s *Store) PutChallenge(ctx context.Context, ch store.Challenge) error {
	if ch.ID == "" {
		return errors.New("put challenge: empty id")
	}
	if _, err := s.write().exec(ctx, qPutChallenge, ch.ID, ch.Host, ch.Group, blob(ch.Request), blob(ch.SecretHash),
		micros(ch.ExpiresAt)); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("put challenge %q: %w", ch.ID, store.ErrConflict)
		}
		return fmt.Errorf("put challenge %q: %w", ch.ID, err)
	}
	return nil
}

// TakeChallenge removes and returns a challenge that has not expired at now.
func (s *Store) TakeChallenge(ctx context.Context, id string, now time.Time) (store.Challenge, error) {
	ch := store.Challenge{ID: id}
	err := s.withTx(ctx, func(c conn) error {
		var exp int64
		var req, hash []byte
		err := c.queryRow(ctx, qTakeChallenge, id).Scan(&ch.Host, &ch.Group, &req, &hash, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("take challenge %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("take challenge %q: %w", id, err)
		}
		ch.Request, ch.SecretHash, ch.ExpiresAt = fromBlob(req), fromBlob(hash), fromMicros(exp)
		if _, err := c.exec(ctx, qSweepChallenges, micros(now)); err != nil {
			return fmt.Errorf("take challenge %q: sweep expired: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return store.Challenge{}, err
	}
	if !now.Before(ch.ExpiresAt) {
		return store.Challenge{}, fmt.Errorf("take challenge %q: expired at %s: %w", id,
			ch.ExpiresAt.Format(time.RFC3339), store.ErrNotFound)
	}
	return ch, nil
}

// takeNonce uses up a nonce inside a transaction and sweeps the expired
// ones. It returns the nonce's host and expiry, and ErrNotFound when there
// is no such nonce; the caller judges the expiry.
func takeNonce(ctx context.Context, c conn, value []byte, now time.Time) (host string, expires time.Time, err error) {
	var exp int64
	err = c.queryRow(ctx, qTakeNonce, value).Scan(&host, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("take nonce: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("take nonce: %w", err)
	}
	if _, err := c.exec(ctx, qSweepNonces, micros(now)); err != nil {
		return "", time.Time{}, fmt.Errorf("take nonce: sweep expired: %w", err)
	}
	return host, fromMicros(exp), nil
}

// takeNonceFor is takeNonce for a nonce that must have been issued to host
// and be unexpired at now: another host's nonce is ErrConflict, an expired
// one ErrNotFound, and either way the caller's transaction rolls back.
func takeNonceFor(ctx context.Context, c conn, value []byte, host string, now time.Time) error {
	owner, expires, err := takeNonce(ctx, c, value, now)
	if err != nil {
		return err
	}
	return checkNonce(owner, host, expires, now)
}

// checkNonce says whether a nonce taken from the store, issued to owner and
// expiring at expires, answers host's evidence at now.
func checkNonce(owner, host string, expires, now time.Time) error {
	if owner != host {
		return fmt.Errorf("take nonce: issued to another host: %w", store.ErrConflict)
	}
	if !now.Before(expires) {
		return fmt.Errorf("take nonce: expired at %s: %w", expires.Format(time.RFC3339), store.ErrNotFound)
	}
	return nil
}
