package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/store"
)

const (
	qGetGroup       = `SELECT name, policy, created_at, updated_at, policy_version FROM host_groups WHERE name = ?`
	qListGroups     = `SELECT name, policy, created_at, updated_at, policy_version FROM host_groups ORDER BY name`
	qGroupHasHosts  = `SELECT COUNT(*) FROM hosts WHERE group_name = ?`
	qDeleteGroup    = `DELETE FROM host_groups WHERE name = ?`
	qDeleteVersions = `DELETE FROM policy_versions WHERE group_name = ?`
)

// PutGroup creates the group or replaces its policy, as a new version.
func (s *Store) PutGroup(ctx context.Context, g store.Group) error {
	_, err := s.putPolicy(ctx, store.PolicyVersion{Group: g.Name, Policy: g.Policy, At: g.UpdatedAt}, g.CreatedAt)
	return err
}

// GetGroup returns the named group.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	g, err := scanGroup(s.read().queryRow(ctx, qGetGroup, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, fmt.Errorf("group %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("get group %q: %w", name, err)
	}
	return g, nil
}

// ListGroups returns every group by name.
func (s *Store) ListGroups(ctx context.Context) ([]store.Group, error) {
	rows, err := s.read().query(ctx, qListGroups)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var gs []store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		gs = append(gs, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

// DeleteGroup removes an empty group.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return s.withTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, qGroupHasHosts, name).Scan(&n); err != nil {
			return fmt.Errorf("delete group %q: count hosts: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("delete group %q: %d hosts are still in it: %w", name, n, store.ErrConflict)
		}
		res, err := c.exec(ctx, qDeleteGroup, name)
		if err != nil {
			return fmt.Errorf("delete group %q: %w", name, err)
		}
		if _, err := c.exec(ctx, qDeleteVersions, name); err != nil {
			return fmt.Errorf("delete group %q: policy versions: %w", name, err)
		}
		return mustAffect(res, fmt.Sprintf("group %q", name))
	})
}

type scanner interface{ Scan(dest ...any) error }

func scanGroup(r scanner) (store.Group, error) {
	var g store.Group
	var policy []byte
	var created, updated int64
	if err := r.Scan(&g.Name, &policy, &created, &updated, &g.PolicyVersion); err != nil {
		return store.Group{}, err
	}
	g.Policy = fromBlob(policy)
	g.CreatedAt = fromMicros(created)
	g.UpdatedAt = fromMicros(updated)
	return g, nil
}

// mustAffect turns "no row changed" into ErrNotFound naming what.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: rows affected: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
