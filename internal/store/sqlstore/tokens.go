package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

const joinTokenColumns = `id, secret_hash, group_name, host, created_by, created_at, expires_at, used_at, used_by`

const (
	qCreateJoinToken = `INSERT INTO join_tokens (` + joinTokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// qUseJoinToken wins only for the first caller: the row lock (PostgreSQL)
	// or the single writer (SQLite) makes later callers see used_at set.
	qUseJoinToken = `UPDATE join_tokens SET used_at = ?, used_by = ?
		WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING ` + joinTokenColumns
	qGetJoinToken   = `SELECT ` + joinTokenColumns + ` FROM join_tokens WHERE id = ?`
	qListJoinTokens = `SELECT ` + joinTokenColumns + ` FROM join_tokens ORDER BY created_at DESC, id`

	apiTokenColumns = `id, name, secret_hash, role, created_at, revoked_at`
	qCreateAPIToken = `INSERT INTO api_tokens (` + apiTokenColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qGetAPIToken    = `SELECT ` + apiTokenColumns + ` FROM api_tokens WHERE id = ?`
	qListAPITokens  = `SELECT ` + apiTokenColumns + ` FROM api_tokens ORDER BY created_at, id`
	qRevokeAPIToken = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`
)

// CreateJoinToken stores a new join token.
func (s *Store) CreateJoinToken(ctx context.Context, t store.JoinToken) error {
	if t.ID == "" {
		return errors.New("create join token: empty id")
	}
	_, err := s.write().exec(ctx, qCreateJoinToken, t.ID, blob(t.SecretHash), t.Group, t.Host, t.CreatedBy,
		micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.UsedAt), t.UsedBy)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create join token %q: %w", t.ID, store.ErrConflict)
		}
		return fmt.Errorf("create join token %q: %w", t.ID, err)
	}
	return nil
}

// UseJoinToken spends a join token; exactly one caller wins.
func (s *Store) UseJoinToken(ctx context.Context, id, usedBy string, now time.Time) (store.JoinToken, error) {
	var t store.JoinToken
	err := s.withTx(ctx, func(c conn) error {
		var err error
		t, err = scanJoinToken(c.queryRow(ctx, qUseJoinToken, micros(now), usedBy, id, micros(now)))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("use join token %q: %w", id, err)
		}
		// Say why it was refused.
		_, err = getJoinToken(ctx, c, id, now)
		if err == nil {
			return fmt.Errorf("use join token %q: refused, yet it is neither used nor expired", id)
		}
		return err
	})
	if err != nil {
		return store.JoinToken{}, err
	}
	return t, nil
}

// CheckJoinToken returns a join token that may still be used, without
// spending it.
func (s *Store) CheckJoinToken(ctx context.Context, id string, now time.Time) (store.JoinToken, error) {
	return getJoinToken(ctx, s.read(), id, now)
}

// getJoinToken reads a join token and says why it may not be used at now:
// ErrNotFound, ErrUsed or ErrExpired.
func getJoinToken(ctx context.Context, c conn, id string, now time.Time) (store.JoinToken, error) {
	t, err := scanJoinToken(c.queryRow(ctx, qGetJoinToken, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return t, fmt.Errorf("join token %q: %w", id, store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("get join token %q: %w", id, err)
	case t.UsedAt != nil:
		return t, fmt.Errorf("join token %q was used by %q at %s: %w", id, t.UsedBy,
			t.UsedAt.Format(time.RFC3339), store.ErrUsed)
	case !t.ExpiresAt.After(now):
		return t, fmt.Errorf("join token %q expired at %s: %w", id, t.ExpiresAt.Format(time.RFC3339), store.ErrExpired)
	}
	return t, nil
}

// ListJoinTokens returns every join token, newest first.
func (s *Store) ListJoinTokens(ctx context.Context) ([]store.JoinToken, error) {
	rows, err := s.read().query(ctx, qListJoinTokens)
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	defer rows.Close()
	var out []store.JoinToken
	for rows.Next() {
		t, err := scanJoinToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list join tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	return out, nil
}

func scanJoinToken(r scanner) (store.JoinToken, error) {
	var t store.JoinToken
	var hash []byte
	var created, expires int64
	var used sql.NullInt64
	if err := r.Scan(&t.ID, &hash, &t.Group, &t.Host, &t.CreatedBy, &created, &expires, &used, &t.UsedBy); err != nil {
		return store.JoinToken{}, err
	}
	t.SecretHash, t.CreatedAt, t.ExpiresAt, t.UsedAt = fromBlob(hash), fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return t, nil
}

// CreateAPIToken stores a new API token.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	if t.ID == "" {
		return errors.New("create api token: empty id")
	}
	_, err := s.write().exec(ctx, qCreateAPIToken, t.ID, t.Name, blob(t.SecretHash), t.Role, micros(t.CreatedAt),
		nullMicros(t.RevokedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create api token %q: %w", t.ID, store.ErrConflict)
		}
		return fmt.Errorf("create api token %q: %w", t.ID, err)
	}
	return nil
}

// GetAPIToken returns an API token, revoked or not.
func (s *Store) GetAPIToken(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanAPIToken(s.read().queryRow(ctx, qGetAPIToken, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIToken{}, fmt.Errorf("api token %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIToken{}, fmt.Errorf("get api token %q: %w", id, err)
	}
	return t, nil
}

// ListAPITokens returns every API token, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]store.APIToken, error) {
	rows, err := s.read().query(ctx, qListAPITokens)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	var out []store.APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token; revoking it again keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.write().exec(ctx, qRevokeAPIToken, micros(at), id)
	if err != nil {
		return fmt.Errorf("revoke api token %q: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("api token %q", id))
}

func scanAPIToken(r scanner) (store.APIToken, error) {
	var t store.APIToken
	var hash []byte
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &hash, &t.Role, &created, &revoked); err != nil {
		return store.APIToken{}, err
	}
	t.SecretHash, t.CreatedAt, t.RevokedAt = fromBlob(hash), fromMicros(created), fromNullMicros(revoked)
	return t, nil
}
