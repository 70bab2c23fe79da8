package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// The webhook outbox: RecordAttestation and MarkUnreachable insert
// deliveries in the transaction that changes a status, and any replica's
// dispatcher claims due ones under a lease, so that an event is neither lost
// nor sent by two replicas at once.

const deliveryColumns = `id, event, payload, created_at, attempts, next_attempt_at, delivered_at, last_error,
	lease_owner, lease_until`

const (
	// qClaimDue selects due, unleased deliveries; on PostgreSQL the dialect
	// appends FOR UPDATE SKIP LOCKED so that concurrent claimers take
	// disjoint rows without waiting on each other.
	qClaimDue = `SELECT id FROM webhook_deliveries
		WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt_at, id LIMIT ?`
	qClaimSet = `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (`
	qClaimReturning   = `) RETURNING ` + deliveryColumns
	qCompleteDelivery = `UPDATE webhook_deliveries SET delivered_at = ?, last_error = '', lease_owner = '',
		lease_until = NULL WHERE id = ?`
	qFailDelivery = `UPDATE webhook_deliveries SET last_error = ?, next_attempt_at = ?, lease_owner = '',
		lease_until = NULL WHERE id = ? AND delivered_at IS NULL`
)

// ClaimDeliveries leases due deliveries to owner.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.WebhookDelivery, error) {
	if owner == "" {
		return nil, errors.New("claim webhook deliveries: empty owner")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("claim webhook deliveries: lease %s is not positive", lease)
	}
	query := qClaimSet + qClaimDue + s.d.skipLocked + qClaimReturning
	var out []store.WebhookDelivery
	err := s.withTx(ctx, func(c conn) error {
		out = out[:0]
		rows, err := c.query(ctx, query, owner, micros(now.Add(lease)), micros(now), micros(now), pageLimit(limit))
		if err != nil {
			return fmt.Errorf("claim webhook deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return fmt.Errorf("claim webhook deliveries: %w", err)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim webhook deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// RETURNING promises no order.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAttemptAt.Equal(out[j].NextAttemptAt) {
			return out[i].NextAttemptAt.Before(out[j].NextAttemptAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// CompleteDelivery marks a delivery delivered.
func (s *Store) CompleteDelivery(ctx context.Context, id int64, at time.Time) error {
	res, err := s.write().exec(ctx, qCompleteDelivery, micros(at), id)
	if err != nil {
		return fmt.Errorf("complete webhook delivery %d: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("webhook delivery %d", id))
}

// FailDelivery records a failed attempt and when to try again.
func (s *Store) FailDelivery(ctx context.Context, id int64, errMsg string, next time.Time) error {
	res, err := s.write().exec(ctx, qFailDelivery, errMsg, micros(next), id)
	if err != nil {
		return fmt.Errorf("fail webhook delivery %d: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("undelivered webhook delivery %d", id))
}

func scanDelivery(r scanner) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var payload []byte
	var created, next int64
	var delivered, leaseUntil sql.NullInt64
	if err := r.Scan(&d.ID, &d.Event, &payload, &created, &d.Attempts, &next, &delivered, &d.LastError,
		&d.LeaseOwner, &leaseUntil); err != nil {
		return store.WebhookDelivery{}, err
	}
	d.Payload, d.CreatedAt, d.NextAttemptAt = fromBlob(payload), fromMicros(created), fromMicros(next)
	d.DeliveredAt, d.LeaseUntil = fromNullMicros(delivered), fromNullMicros(leaseUntil)
	return d, nil
}

// EnqueueDelivery adds an event to the webhook outbox, due at once: for
// events that are not status changes (a placement allowed in warn mode).
func (s *Store) EnqueueDelivery(ctx context.Context, d store.WebhookDelivery) error {
	return insertDelivery(ctx, s.write(), &d, d.CreatedAt)
}
