package sqlstore

import (
	"context"
	"fmt"

	"github.com/bootproof/bootproof/internal/store"
)

const (
	qAppendAudit = `INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`
	qCountAudit  = `SELECT COUNT(*) FROM audit_log`
	qListAudit   = `SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?`
)

// AppendAudit adds an entry to the audit log; the store assigns its ID.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if _, err := s.write().exec(ctx, qAppendAudit, micros(e.At), e.Actor, e.Action, e.Target, e.Detail); err != nil {
		return fmt.Errorf("append audit %s by %q: %w", e.Action, e.Actor, err)
	}
	return nil
}

// ListAudit returns one page of the audit log, newest first, and its length.
func (s *Store) ListAudit(ctx context.Context, limit, offset int) ([]store.AuditEntry, int, error) {
	var out []store.AuditEntry
	var total int
	err := s.withReadTx(ctx, func(c conn) error {
		if err := c.queryRow(ctx, qCountAudit).Scan(&total); err != nil {
			return fmt.Errorf("list audit: count: %w", err)
		}
		rows, err := c.query(ctx, qListAudit, pageLimit(limit), int64(max(offset, 0)))
		if err != nil {
			return fmt.Errorf("list audit: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e store.AuditEntry
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
				return fmt.Errorf("list audit: %w", err)
			}
			e.At = fromMicros(at)
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list audit: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
