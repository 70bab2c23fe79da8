package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

const (
	// qLockHost locks the host's row (with the dialect's FOR UPDATE) and
	// reads what a record is judged against: the status it changes from,
	// and the credential its verdict must have been judged with. One
	// statement for both, so that the credential check costs no round trip.
	qLockHost = `SELECT status, client_cert_sha256, ak_public FROM hosts WHERE name = ?`
	// qRecordHost updates what every attestation changes, in one statement:
	// each UPDATE of a row writes a new version of it (and, on PostgreSQL,
	// new index entries unless the update is HOT), and hosts' UPDATE was
	// the costliest statement of a PostgreSQL load run (pg_stat_statements).
	// status_since moves only with the status; an attest request made at or
	// before this attestation is answered by it and cleared; the TPM clock
	// is kept as it was when the record has none (NULLs).
	qRecordHost = `UPDATE hosts SET
		status_since = CASE WHEN status = ? THEN status_since ELSE ? END,
		status = ?, last_attested = ?, last_seen = ?, reason_code = ?, reason = ?,
		attest_requested_at = CASE WHEN attest_requested_at <= ? THEN NULL ELSE attest_requested_at END,
		clock = COALESCE(?, clock), reset_count = COALESCE(?, reset_count), restart_count = COALESCE(?, restart_count)
		WHERE name = ?`
	qPutLatest = `INSERT INTO latest_evidence (host, at, evidence, verdict, blob_set, status, policy_version)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET at = excluded.at, evidence = excluded.evidence, verdict = excluded.verdict,
		blob_set = excluded.blob_set, status = excluded.status, policy_version = excluded.policy_version`
	qInsertSummary = `INSERT INTO attestation_summaries (host, at, status, reason_code, duration_micros)
		VALUES (?, ?, ?, ?, ?)`
	qInsertChange = `INSERT INTO status_changes (host, from_status, to_status, at, reason_code, reason, verdict, evidence,
		blob_set, evidence_bytes, verdict_blob, policy_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertDelivery = `INSERT INTO webhook_deliveries (event, payload, created_at, attempts, next_attempt_at,
		last_error, lease_owner) VALUES (?, ?, ?, 0, ?, '', '')`
	qLatestEvidence = `SELECT host, at, evidence, verdict, status, policy_version FROM latest_evidence WHERE host = ?`
	qHistory        = `SELECT id, host, from_status, to_status, at, reason_code, reason, verdict, evidence,
		evidence_bytes, evidence_dropped, policy_version FROM status_changes WHERE host = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`
	// qUnreachableCandidates narrows the sweep to hosts silent since before
	// the latest cutoff; the per-group cutoff is applied in Go. On SQLite
	// it must use the last_seen index (a multi-index OR): it runs inside
	// the write transaction, and a full scan of a large fleet there holds
	// up every attestation. Hence no ORDER BY: the few candidates are
	// sorted in Go. PostgreSQL has no such index (migration 0005: it cost
	// every attestation its heap-only update) and scans hosts, blocking no
	// writer.
	qUnreachableCandidates = `SELECT ` + hostColumns + ` FROM hosts WHERE status <> ?
		AND (last_seen IS NULL OR last_seen < ?) AND (last_attested IS NULL OR last_attested < ?)
		AND (last_seen IS NOT NULL OR last_attested IS NOT NULL OR enrolled_at < ?)`
	qMarkUnreachable = `UPDATE hosts SET status = ?, status_since = ?, reason_code = ?, reason = ?
		WHERE name = ? AND status = ?`
)

// RecordAttestation records an appraisal's outcome in one short transaction.
func (s *Store) RecordAttestation(ctx context.Context, r store.AttestationRecord) (bool, error) {
	if !store.ValidStatus(r.Status) {
		return false, fmt.Errorf("record attestation of host %q: unknown status %q", r.Host, r.Status)
	}
	at := micros(r.At)
	set, blobs, err := blobSetKey(r.Blobs)
	if err != nil {
		return false, fmt.Errorf("record attestation of host %q: %w", r.Host, err)
	}
	if s.d.name == postgres.name {
		return s.recordAttestationPG(ctx, r, set, blobs) // the same transaction in two round trips: pgbatch.go
	}
	var changed bool
	err = s.withTx(ctx, func(c conn) error {
		if r.Nonce != nil {
			if err := takeNonceFor(ctx, c, r.Nonce, r.Host, r.At); err != nil {
				return fmt.Errorf("record attestation of host %q: %w", r.Host, err)
			}
		}
		old, cred, err := scanLockedHost(c.queryRow(ctx, qLockHost+s.d.forUpdate, r.Host))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("record attestation: host %q: %w", r.Host, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("record attestation of host %q: %w", r.Host, err)
		}
		if err := checkCredential(r, cred); err != nil {
			return err
		}
		changed = old != r.Status
		if _, err := c.exec(ctx, qRecordHost, recordHostArgs(r, at)...); err != nil {
			return fmt.Errorf("record attestation of host %q: update host: %w", r.Host, err)
		}
		var stored int64
		if set != nil {
			if stored, err = s.putBlobSet(ctx, c, set, blobs); err != nil {
				return fmt.Errorf("record attestation of host %q: %w", r.Host, err)
			}
		}
		if _, err := c.exec(ctx, qPutLatest, latestArgs(r, at, set)...); err != nil {
			return fmt.Errorf("record attestation of host %q: latest evidence: %w", r.Host, err)
		}
		if _, err := c.exec(ctx, qInsertSummary, r.Host, at, r.Status, r.ReasonCode, r.DurationMicros); err != nil {
			return fmt.Errorf("record attestation of host %q: summary: %w", r.Host, err)
		}
		if !changed {
			return nil
		}
		if _, err := c.exec(ctx, qInsertChange, changeArgs(r, old, at, set, stored)...); err != nil {
			return fmt.Errorf("record attestation of host %q: status change: %w", r.Host, err)
		}
		if r.Webhook != nil {
			if err := insertDelivery(ctx, c, r.Webhook, r.At); err != nil {
				return fmt.Errorf("record attestation of host %q: %w", r.Host, err)
			}
		}
		return nil
	})
	return changed, err
}

// changeArgs are qInsertChange's arguments for r, a change from old
// recorded at at with blob set set, whose record stored blobs of stored
// bytes.
func changeArgs(r store.AttestationRecord, old string, at int64, set any, stored int64) []any {
	return []any{r.Host, old, r.Status, at, r.ReasonCode, r.Reason, blob(r.Verdict), blob(r.Evidence), set,
		evidenceCharge(r, stored), r.VerdictSHA256, r.PolicyVersion}
}

// latestArgs are qPutLatest's arguments for r recorded at at with blob set
// set.
func latestArgs(r store.AttestationRecord, at int64, set any) []any {
	return []any{r.Host, at, blob(r.Evidence), blob(r.Verdict), set, r.Status, r.PolicyVersion}
}

// evidenceCharge is what keeping r's evidence costs its host: its evidence
// and verdict as stored, and the blobs its record was the first to store
// (stored bytes). A blob another record stored first is charged to that
// one: a host pays for what it caused to be stored, not for what it shares.
func evidenceCharge(r store.AttestationRecord, stored int64) int64 {
	if r.Evidence == nil && r.Verdict == nil && stored == 0 {
		return 0
	}
	return max(int64(len(r.Evidence)+len(r.Verdict))+stored, 1)
}

// scanLockedHost reads qLockHost's row: the host's status and credential.
func scanLockedHost(row scanner) (status string, cred store.Credential, err error) {
	err = row.Scan(&status, &cred.ClientCertSHA256, &cred.AKPublic)
	return status, cred, err
}

// checkCredential refuses r when its host, as locked, no longer has the
// credential r's verdict was judged with: the host enrolled again (new
// certificate and AK) or was re-activated (new AK) since the verifier read
// it, and a verdict judged with the old AK must not stand for the new one.
func checkCredential(r store.AttestationRecord, has store.Credential) error {
	if !r.Credential.Equal(has) {
		return fmt.Errorf("record attestation of host %q: %w", r.Host, store.ErrCredentialChanged)
	}
	return nil
}

// insertDelivery adds a delivery to the outbox, due at once.
func insertDelivery(ctx context.Context, c conn, d *store.WebhookDelivery, at time.Time) error {
	if _, err := c.exec(ctx, qInsertDelivery, d.Event, blob(d.Payload), micros(at), micros(firstAttempt(d, at))); err != nil {
		return fmt.Errorf("queue webhook %q: %w", d.Event, err)
	}
	return nil
}

// recordHostArgs are qRecordHost's arguments for r recorded at at.
func recordHostArgs(r store.AttestationRecord, at int64) []any {
	var clock, resets, restarts any // NULL: the clock stays as it was
	if c := r.Clock; c != nil {
		clock, resets, restarts = int64(c.Clock), int64(c.ResetCount), int64(c.RestartCount)
	}
	return []any{r.Status, at, r.Status, at, at, r.ReasonCode, r.Reason, at, clock, resets, restarts, r.Host}
}

// firstAttempt is when a delivery queued at is first due: at once unless it
// says otherwise.
func firstAttempt(d *store.WebhookDelivery, at time.Time) time.Time {
	if d.NextAttemptAt.IsZero() {
		return at
	}
	return d.NextAttemptAt
}

// MarkUnreachable moves silent hosts to Unreachable.
func (s *Store) MarkUnreachable(ctx context.Context, cutoffByGroup map[string]time.Time, defaultCutoff, now time.Time,
	webhookPayload func(store.Host) []byte) ([]string, error) {
	latest := defaultCutoff
	for _, c := range cutoffByGroup {
		if c.After(latest) {
			latest = c
		}
	}
	var marked []string
	err := s.withTx(ctx, func(c conn) error {
		marked = marked[:0]
		l := micros(latest)
		rows, err := c.query(ctx, qUnreachableCandidates+s.d.skipLocked, store.StatusUnreachable, l, l, l)
		if err != nil {
			return fmt.Errorf("mark unreachable: %w", err)
		}
		var silent []store.Host
		for rows.Next() {
			h, err := scanHost(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("mark unreachable: %w", err)
			}
			cutoff, ok := cutoffByGroup[h.Group]
			if !ok {
				cutoff = defaultCutoff
			}
			if lastContact(h).Before(truncate(cutoff)) {
				silent = append(silent, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("mark unreachable: %w", err)
		}
		slices.SortFunc(silent, func(a, b store.Host) int { return strings.Compare(a.Name, b.Name) })
		for _, h := range silent {
			reason := "no contact since " + lastContact(h).Format(time.RFC3339)
			if _, err := c.exec(ctx, qMarkUnreachable, store.StatusUnreachable, micros(now),
				store.ReasonUnreachable, reason, h.Name, h.Status); err != nil {
				return fmt.Errorf("mark host %q unreachable: %w", h.Name, err)
			}
			if _, err := c.exec(ctx, qInsertChange, h.Name, h.Status, store.StatusUnreachable, micros(now),
				store.ReasonUnreachable, reason, nil, nil, nil, 0, "", 0); err != nil {
				return fmt.Errorf("mark host %q unreachable: status change: %w", h.Name, err)
			}
			if webhookPayload != nil {
				if p := webhookPayload(h); p != nil {
					d := &store.WebhookDelivery{Event: store.EventStatusChanged, Payload: p}
					if err := insertDelivery(ctx, c, d, now); err != nil {
						return fmt.Errorf("mark host %q unreachable: %w", h.Name, err)
					}
				}
			}
			marked = append(marked, h.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return marked, nil
}

// lastContact is when the host was last heard from: the later of LastSeen
// and LastAttested, or EnrolledAt when neither is set.
func lastContact(h store.Host) time.Time {
	t := h.EnrolledAt
	if h.LastSeen != nil || h.LastAttested != nil {
		t = time.Time{}
	}
	if h.LastSeen != nil && h.LastSeen.After(t) {
		t = *h.LastSeen
	}
	if h.LastAttested != nil && h.LastAttested.After(t) {
		t = *h.LastAttested
	}
	return t
}

// LatestEvidence returns a host's most recent evidence and verdict.
func (s *Store) LatestEvidence(ctx context.Context, host string) (store.LatestEvidence, error) {
	var e store.LatestEvidence
	var at int64
	var ev, vd []byte
	err := s.read().queryRow(ctx, qLatestEvidence, host).Scan(&e.Host, &at, &ev, &vd, &e.Status, &e.PolicyVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LatestEvidence{}, fmt.Errorf("latest evidence of host %q: %w", host, store.ErrNotFound)
	}
	if err != nil {
		return store.LatestEvidence{}, fmt.Errorf("latest evidence of host %q: %w", host, err)
	}
	e.At, e.Evidence, e.Verdict = fromMicros(at), fromBlob(ev), fromBlob(vd)
	return e, nil
}

// History returns a host's status changes, newest first.
func (s *Store) History(ctx context.Context, host string, limit, offset int) ([]store.StatusChange, error) {
	rows, err := s.read().query(ctx, qHistory, host, pageLimit(limit), int64(max(offset, 0)))
	if err != nil {
		return nil, fmt.Errorf("history of host %q: %w", host, err)
	}
	defer rows.Close()
	var out []store.StatusChange
	for rows.Next() {
		var sc store.StatusChange
		var at int64
		var vd, ev []byte
		if err := rows.Scan(&sc.ID, &sc.Host, &sc.From, &sc.To, &at, &sc.ReasonCode, &sc.Reason, &vd, &ev,
			&sc.EvidenceBytes, &sc.EvidenceDropped, &sc.PolicyVersion); err != nil {
			return nil, fmt.Errorf("history of host %q: %w", host, err)
		}
		sc.At, sc.Verdict, sc.Evidence = fromMicros(at), fromBlob(vd), fromBlob(ev)
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of host %q: %w", host, err)
	}
	return out, nil
}

// pageLimit turns "no limit" (<= 0) into a LIMIT both dialects accept.
func pageLimit(limit int) int64 {
	if limit <= 0 {
		return 1<<63 - 1
	}
	return int64(limit)
}
