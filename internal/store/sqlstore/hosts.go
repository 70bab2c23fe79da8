package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/store"
)

// hostColumns is the column list every host query selects, in scanHost's order.
const hostColumns = `name, group_name, tpm_family, ek_public, ek_digest, ek_cert, ak_public,
	client_cert_sha256, enrolled_at, status, status_since, last_attested, last_seen, reason_code, reason,
	clock, reset_count, restart_count, pending_ek_public, pending_ek_cert, pending_ek_at, attest_requested_at`

const (
	qInsertHost = `INSERT INTO hosts (` + hostColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetHost     = `SELECT ` + hostColumns + ` FROM hosts WHERE name = ?`
	qGetHostByEK = `SELECT ` + hostColumns + ` FROM hosts WHERE ek_digest = ? ORDER BY name LIMIT 1`
	qUpdateHost  = `UPDATE hosts SET group_name = ?, tpm_family = ?, ek_public = ?, ek_digest = ?, ek_cert = ?,
		ak_public = ?, client_cert_sha256 = ?, enrolled_at = ?, status = ?, status_since = ?, last_attested = ?,
		last_seen = ?, reason_code = ?, reason = ?, clock = ?, reset_count = ?, restart_count = ?,
		pending_ek_public = ?, pending_ek_cert = ?, pending_ek_at = ?, attest_requested_at = ?
		WHERE name = ?`
	qDeleteHost       = `DELETE FROM hosts WHERE name = ?`
	qCountByStatus    = `SELECT status, COUNT(*) FROM hosts GROUP BY status`
	qCountByStatusIn  = `SELECT status, COUNT(*) FROM hosts WHERE group_name = ? GROUP BY status`
	qRequestAttestOne = `UPDATE hosts SET attest_requested_at = ? WHERE name = ?`
	qRequestAttestGrp = `UPDATE hosts SET attest_requested_at = ? WHERE group_name = ?`
	qRequestAttestAll = `UPDATE hosts SET attest_requested_at = ?`
	// qAttestRequested runs four times a second: it must use the
	// attest_requested_at index, so it has no ORDER BY (ordering by name
	// made SQLite walk the whole name index instead: 42% of a verifier's
	// CPU with 120,000 hosts). The few names are sorted in Go.
	qAttestRequested = `SELECT name FROM hosts WHERE attest_requested_at >= ?`
)

// hostArgs are h's values in hostColumns order.
func hostArgs(h *store.Host) []any {
	return []any{h.Name, h.Group, h.TPMFamily, blob(h.EKPublic), h.EKDigest, blob(h.EKCert), blob(h.AKPublic),
		h.ClientCertSHA256, micros(h.EnrolledAt), h.Status, micros(h.StatusSince), nullMicros(h.LastAttested),
		nullMicros(h.LastSeen), h.ReasonCode, h.Reason,
		int64(h.LastClock.Clock), int64(h.LastClock.ResetCount), int64(h.LastClock.RestartCount),
		blob(h.PendingEKPublic), blob(h.PendingEKCert), nullMicros(h.PendingEKAt), nullMicros(h.AttestRequestedAt)}
}

func scanHost(r scanner) (store.Host, error) {
	var h store.Host
	var ekPub, ekCert, akPub, pendPub, pendCert []byte
	var enrolled, since, clock, resets, restarts int64
	var lastAtt, lastSeen, pendAt, reqAt sql.NullInt64
	err := r.Scan(&h.Name, &h.Group, &h.TPMFamily, &ekPub, &h.EKDigest, &ekCert, &akPub,
		&h.ClientCertSHA256, &enrolled, &h.Status, &since, &lastAtt, &lastSeen, &h.ReasonCode, &h.Reason,
		&clock, &resets, &restarts, &pendPub, &pendCert, &pendAt, &reqAt)
	if err != nil {
		return store.Host{}, err
	}
	h.EKPublic, h.EKCert, h.AKPublic = fromBlob(ekPub), fromBlob(ekCert), fromBlob(akPub)
	h.PendingEKPublic, h.PendingEKCert = fromBlob(pendPub), fromBlob(pendCert)
	h.EnrolledAt, h.StatusSince = fromMicros(enrolled), fromMicros(since)
	h.LastAttested, h.LastSeen = fromNullMicros(lastAtt), fromNullMicros(lastSeen)
	h.PendingEKAt, h.AttestRequestedAt = fromNullMicros(pendAt), fromNullMicros(reqAt)
	h.LastClock = store.ClockInfo{Clock: uint64(clock), ResetCount: uint32(resets), RestartCount: uint32(restarts)}
	return h, nil
}

// checkHost rejects a host the store must not keep.
func checkHost(h *store.Host) error {
	if h.Name == "" {
		return errors.New("empty host name")
	}
	if !store.ValidStatus(h.Status) {
		return fmt.Errorf("host %q: unknown status %q", h.Name, h.Status)
	}
	return nil
}

// CreateHost inserts a new host.
func (s *Store) CreateHost(ctx context.Context, h store.Host) error {
	if err := checkHost(&h); err != nil {
		return fmt.Errorf("create host: %w", err)
	}
	if _, err := s.write().exec(ctx, qInsertHost, hostArgs(&h)...); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create host %q: %w", h.Name, store.ErrConflict)
		}
		return fmt.Errorf("create host %q: %w", h.Name, err)
	}
	return nil
}

// GetHost returns the named host.
func (s *Store) GetHost(ctx context.Context, name string) (store.Host, error) {
	return s.getHost(ctx, s.read(), qGetHost, name, "host %q")
}

// GetHostByEK returns the host enrolled with the EK whose SHA-256 is ekDigest.
func (s *Store) GetHostByEK(ctx context.Context, ekDigest string) (store.Host, error) {
	return s.getHost(ctx, s.read(), qGetHostByEK, ekDigest, "host with EK %s")
}

func (s *Store) getHost(ctx context.Context, c conn, query, key, what string) (store.Host, error) {
	h, err := scanHost(c.queryRow(ctx, query, key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Host{}, fmt.Errorf(what+": %w", key, store.ErrNotFound)
	}
	if err != nil {
		return store.Host{}, fmt.Errorf("get "+what+": %w", key, err)
	}
	return h, nil
}

// UpdateHost reads, changes and writes back a host in one transaction.
func (s *Store) UpdateHost(ctx context.Context, name string, fn func(*store.Host) error) (store.Host, error) {
	var h store.Host
	err := s.withTx(ctx, func(c conn) error {
		var err error
		h, err = s.getHost(ctx, c, qGetHost+s.d.forUpdate, name, "host %q")
		if err != nil {
			return err
		}
		if err := fn(&h); err != nil {
			return err
		}
		if h.Name != name {
			return fmt.Errorf("update host %q: renaming to %q is not allowed", name, h.Name)
		}
		if err := checkHost(&h); err != nil {
			return fmt.Errorf("update host: %w", err)
		}
		args := hostArgs(&h)
		if _, err := c.exec(ctx, qUpdateHost, append(args[1:], name)...); err != nil {
			return fmt.Errorf("update host %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return store.Host{}, err
	}
	return h, nil
}

// DeleteHost removes a host; its evidence, history and summaries go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteHost(ctx context.Context, name string) error {
	res, err := s.write().exec(ctx, qDeleteHost, name)
	if err != nil {
		return fmt.Errorf("delete host %q: %w", name, err)
	}
	return mustAffect(res, fmt.Sprintf("host %q", name))
}

// hostSortColumns maps HostQuery.Sort to a column; only these reach SQL.
var hostSortColumns = map[string]string{
	"": "name", "name": "name", "group": "group_name", "tpm_family": "tpm_family", "status": "status",
	"status_since": "status_since", "last_attested": "last_attested", "last_seen": "last_seen",
	"enrolled_at": "enrolled_at", "reason_code": "reason_code",
}

// ListHosts returns one page of the selected hosts and the number selected.
func (s *Store) ListHosts(ctx context.Context, q store.HostQuery) ([]store.Host, int, error) {
	col, ok := hostSortColumns[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list hosts: cannot sort by %q (want one of %s)", q.Sort,
			strings.Join(store.HostSortColumns, ", "))
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list hosts: negative offset %d", q.Offset)
	}
	// PostgreSQL refuses such text outright; refuse it in both dialects alike.
	for field, v := range map[string]string{"status": q.Status, "group": q.Group, "search": q.Search} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, 0, fmt.Errorf("list hosts: %s %q is not valid UTF-8 text", field, v)
		}
	}
	var where []string
	var args []any
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, q.Status)
	}
	if q.Group != "" {
		where, args = append(where, "group_name = ?"), append(args, q.Group)
	}
	if q.Search != "" {
		// LOWER on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's
		// does not. Both LOWERs fold ASCII only (SQLite without ICU, PostgreSQL
		// under COLLATE "C"), so the pattern is folded the same way.
		where, args = append(where, `LOWER(name) LIKE ? ESCAPE '\'`), append(args, "%"+likeEscape(asciiLower(q.Search))+"%")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	// NULLs (never attested, never seen) sort last either way, in both
	// dialects; the name breaks ties so that pages are stable.
	order := fmt.Sprintf(" ORDER BY (%s IS NULL), %s %s, name %s", col, col, dir, dir)
	if col == "name" {
		order = " ORDER BY name " + dir
	}
	limit := pageLimit(q.Limit)
	var hosts []store.Host
	var total int
	err := s.withReadTx(ctx, func(c conn) error {
		if err := c.queryRow(ctx, "SELECT COUNT(*) FROM hosts"+cond, args...).Scan(&total); err != nil {
			return fmt.Errorf("list hosts: count: %w", err)
		}
		// Sort and page the narrow keys first, then fetch whole rows for the
		// one page: sorting 10,000 full rows (keys and certificates) costs
		// a hundred times more.
		// A query for every row has nothing to page.
		query := "SELECT " + hostColumns + " FROM hosts" + cond + order
		if q.Limit > 0 || q.Offset > 0 {
			page := "SELECT name FROM hosts" + cond + order + " LIMIT ? OFFSET ?"
			query = "SELECT " + hostColumns + " FROM hosts WHERE name IN (" + page + ")" + order
			args = append(args, limit, int64(q.Offset))
		}
		rows, err := c.query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("list hosts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			h, err := scanHost(rows)
			if err != nil {
				return fmt.Errorf("list hosts: %w", err)
			}
			hosts = append(hosts, h)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list hosts: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return hosts, total, nil
}

// asciiLower lowers ASCII letters only, as LOWER does in both dialects here.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// likeEscape makes s match literally inside a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountByStatus counts hosts per status, with every status present.
func (s *Store) CountByStatus(ctx context.Context, group string) (map[string]int, error) {
	var rows *sql.Rows
	var err error
	if group == "" {
		rows, err = s.read().query(ctx, qCountByStatus)
	} else {
		rows, err = s.read().query(ctx, qCountByStatusIn, group)
	}
	if err != nil {
		return nil, fmt.Errorf("count hosts by status: %w", err)
	}
	defer rows.Close()
	counts := make(map[string]int, len(store.Statuses))
	for _, st := range store.Statuses {
		counts[st] = 0
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count hosts by status: %w", err)
		}
		counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count hosts by status: %w", err)
	}
	return counts, nil
}

// RequestAttest marks the selected hosts for attestation now.
func (s *Store) RequestAttest(ctx context.Context, sel store.AttestSelector, at time.Time) (int, error) {
	if err := sel.Validate(); err != nil {
		return 0, fmt.Errorf("request attestation: %w", err)
	}
	var res sql.Result
	var err error
	switch {
	case sel.Host != "":
		res, err = s.write().exec(ctx, qRequestAttestOne, micros(at), sel.Host)
	case sel.Group != "":
		res, err = s.write().exec(ctx, qRequestAttestGrp, micros(at), sel.Group)
	default:
		res, err = s.write().exec(ctx, qRequestAttestAll, micros(at))
	}
	if err != nil {
		return 0, fmt.Errorf("request attestation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("request attestation: rows affected: %w", err)
	}
	if n == 0 && sel.Host != "" {
		return 0, fmt.Errorf("request attestation of host %q: %w", sel.Host, store.ErrNotFound)
	}
	return int(n), nil
}

// AttestRequestedSince lists hosts with an open request made at or after since.
func (s *Store) AttestRequestedSince(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := s.read().query(ctx, qAttestRequested, micros(since))
	if err != nil {
		return nil, fmt.Errorf("list attest requests: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list attest requests: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attest requests: %w", err)
	}
	slices.Sort(names)
	return names, nil
}
