package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/bootproof/bootproof/internal/store"
)

const (
	qHostExists = `SELECT 1 FROM hosts WHERE name = ?`
	// qAddPin keeps a pin already there: the first boot to pin wins.
	qAddPin = `INSERT INTO host_pins (host, class, bank, digests, since, accepted_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, class) DO NOTHING`
	qReplacePin = `INSERT INTO host_pins (host, class, bank, digests, since, accepted_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, class) DO UPDATE SET bank = excluded.bank, digests = excluded.digests,
			since = excluded.since, accepted_by = excluded.accepted_by`
	qHostPins = `SELECT host, class, bank, digests, since, accepted_by FROM host_pins WHERE host = ? ORDER BY class`
)

// PutPins stores pinned values in one transaction; see store.Store.
func (s *Store) PutPins(ctx context.Context, pins []store.HostPin, replace bool) error {
	q := qAddPin
	if replace {
		q = qReplacePin
	}
	return s.withTx(ctx, func(c conn) error {
		checked := map[string]bool{}
		for _, p := range pins {
			if !checked[p.Host] {
				if err := hostExists(ctx, c, p.Host); err != nil {
					return err
				}
				checked[p.Host] = true
			}
			if strings.ContainsRune(strings.Join(p.Digests, ""), ' ') {
				return fmt.Errorf("pin %s of host %q: a digest holds a space", p.Class, p.Host)
			}
			if _, err := c.exec(ctx, q, p.Host, p.Class, p.Bank, strings.Join(p.Digests, " "), micros(p.Since), p.AcceptedBy); err != nil {
				return fmt.Errorf("pin %s of host %q: %w", p.Class, p.Host, err)
			}
		}
		return nil
	})
}

// hostExists returns ErrNotFound when the host is gone, so that a pin of a
// removed host says so rather than as a foreign key violation.
func hostExists(ctx context.Context, c conn, host string) error {
	var one int
	err := c.queryRow(ctx, qHostExists, host).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("host %q: %w", host, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up host %q: %w", host, err)
	}
	return nil
}

// HostPins returns a host's pinned values, by class.
func (s *Store) HostPins(ctx context.Context, host string) ([]store.HostPin, error) {
	rows, err := s.read().query(ctx, qHostPins, host)
	if err != nil {
		return nil, fmt.Errorf("pins of host %q: %w", host, err)
	}
	defer rows.Close()
	var out []store.HostPin
	for rows.Next() {
		var p store.HostPin
		var digests string
		var since int64
		if err := rows.Scan(&p.Host, &p.Class, &p.Bank, &digests, &since, &p.AcceptedBy); err != nil {
			return nil, fmt.Errorf("pins of host %q: %w", host, err)
		}
		p.Digests = []string{}
		if digests != "" {
			p.Digests = strings.Split(digests, " ")
		}
		p.Since = fromMicros(since)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pins of host %q: %w", host, err)
	}
	return out, nil
}
