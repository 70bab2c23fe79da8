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
	// qBumpGroup creates the group at version 1 or moves it to its next
	// version, and returns the version: one statement that takes the
	// group's row lock, so that concurrent puts (on any replica) are
	// numbered one after the other.
	qBumpGroup = `INSERT INTO host_groups (name, policy, created_at, updated_at, policy_version) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (name) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at,
		policy_version = host_groups.policy_version + 1
		RETURNING policy_version`
	qInsertVersion = `INSERT INTO policy_versions (group_name, version, policy, author, created_at, comment)
		VALUES (?, ?, ?, ?, ?, ?)`
	qListVersions = `SELECT group_name, version, author, created_at, comment FROM policy_versions
		WHERE group_name = ? ORDER BY version DESC`
	qGetVersion = `SELECT group_name, version, author, created_at, comment, policy FROM policy_versions
		WHERE group_name = ? AND version = ?`
	qGroupExists = `SELECT COUNT(*) FROM host_groups WHERE name = ?`
)

// PutPolicy appends pv as the group's next version and makes it its policy.
func (s *Store) PutPolicy(ctx context.Context, pv store.PolicyVersion) (store.PolicyVersion, error) {
	return s.putPolicy(ctx, pv, pv.At)
}

// putPolicy is PutPolicy with the time the group is created at, should it
// be new.
func (s *Store) putPolicy(ctx context.Context, pv store.PolicyVersion, createdAt time.Time) (store.PolicyVersion, error) {
	if pv.Group == "" {
		return store.PolicyVersion{}, errors.New("put policy: empty group name")
	}
	err := s.withTx(ctx, func(c conn) error {
		var v int64
		err := c.queryRow(ctx, qBumpGroup, pv.Group, blob(pv.Policy), micros(createdAt), micros(pv.At)).Scan(&v)
		if err != nil {
			return fmt.Errorf("put policy of group %q: %w", pv.Group, err)
		}
		pv.Version = int(v)
		if _, err := c.exec(ctx, qInsertVersion, pv.Group, v, blob(pv.Policy), pv.Author, micros(pv.At), pv.Comment); err != nil {
			return fmt.Errorf("put policy of group %q: version %d: %w", pv.Group, v, err)
		}
		return nil
	})
	if err != nil {
		return store.PolicyVersion{}, err
	}
	pv.At = fromMicros(micros(pv.At))
	return pv, nil
}

// PolicyVersions lists a group's versions, newest first, without YAML.
func (s *Store) PolicyVersions(ctx context.Context, group string) ([]store.PolicyVersion, error) {
	var n int
	if err := s.read().queryRow(ctx, qGroupExists, group).Scan(&n); err != nil {
		return nil, fmt.Errorf("policy versions of group %q: %w", group, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("group %q: %w", group, store.ErrNotFound)
	}
	rows, err := s.read().query(ctx, qListVersions, group)
	if err != nil {
		return nil, fmt.Errorf("policy versions of group %q: %w", group, err)
	}
	defer rows.Close()
	var out []store.PolicyVersion
	for rows.Next() {
		pv, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("policy versions of group %q: %w", group, err)
		}
		out = append(out, pv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("policy versions of group %q: %w", group, err)
	}
	return out, nil
}

// GetPolicyVersion returns one version of a group's policy, with its YAML.
func (s *Store) GetPolicyVersion(ctx context.Context, group string, version int) (store.PolicyVersion, error) {
	var policy []byte
	pv, err := scanVersion(s.read().queryRow(ctx, qGetVersion, group, int64(version)), &policy)
	if errors.Is(err, sql.ErrNoRows) {
		return store.PolicyVersion{}, fmt.Errorf("policy version %d of group %q: %w", version, group, store.ErrNotFound)
	}
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("policy version %d of group %q: %w", version, group, err)
	}
	pv.Policy = fromBlob(policy)
	return pv, nil
}

// scanVersion reads a version's row, and into extra any columns after it.
func scanVersion(r scanner, extra ...any) (store.PolicyVersion, error) {
	var pv store.PolicyVersion
	var v, at int64
	if err := r.Scan(append([]any{&pv.Group, &v, &pv.Author, &at, &pv.Comment}, extra...)...); err != nil {
		return store.PolicyVersion{}, err
	}
	pv.Version, pv.At = int(v), fromMicros(at)
	return pv, nil
}
