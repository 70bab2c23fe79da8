package verifier

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// AgentHost returns the enrolled host an agent's client certificate names.
// A certificate that is not the host's current one (replaced at a
// re-enrolment, or the host was removed) is refused.
func (v *Verifier) AgentHost(ctx context.Context, name, certFingerprint string) (store.Host, error) {
	h, err := v.st.GetHost(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return h, refuse(KindForbidden, "host_unknown", "host %q is not enrolled", name)
	}
	if err != nil {
		return h, fmt.Errorf("look up host %s: %w", name, err)
	}
	if subtle.ConstantTimeCompare([]byte(h.ClientCertSHA256), []byte(certFingerprint)) != 1 {
		return h, refuse(KindForbidden, codeCredentialReplaced, "this client certificate is no longer valid for host %q", name)
	}
	return h, nil
}

// codeCredentialReplaced refuses an agent whose credential is no longer its
// host's: its client certificate (AgentHost), or the certificate or AK its
// evidence was judged with (Submit, when the host enrolled again or was
// re-activated while the evidence was appraised).
const codeCredentialReplaced = "agent.credential_replaced"

// Nonce issues a fresh, single-use nonce for host.
func (v *Verifier) Nonce(ctx context.Context, h store.Host) (wire.NonceResponse, error) {
	n := make([]byte, 32)
	if _, err := v.cfg.Rand.Read(n); err != nil {
		return wire.NonceResponse{}, fmt.Errorf("nonce: %w", err)
	}
	err := v.st.PutNonce(ctx, store.Nonce{Value: n, Host: h.Name, ExpiresAt: v.now().Add(v.cfg.NonceTTL)})
	v.noteWrite(err)
	if err != nil {
		return wire.NonceResponse{}, fmt.Errorf("store nonce: %w", err)
	}
	p, err := v.policies.get(ctx, h.Group)
	if err != nil {
		return wire.NonceResponse{}, err
	}
	return wire.NonceResponse{Nonce: n, IntervalSeconds: int(p.Interval / time.Second)}, nil
}

// errNonceUnknown refuses evidence whose nonce was not issued, has expired
// or was used already.
var errNonceUnknown = refuse(KindConflict, "nonce.unknown", "the nonce was not issued, has expired or was already used; fetch a new one")

// Submit appraises evidence answering a nonce this verifier (or a replica)
// issued to the same host, and records the verdict. The nonce is used up in
// the transaction that records the verdict, so nothing is recorded for a
// nonce that was not issued to this host, and a nonce counts once even when
// two answers race.
func (v *Verifier) Submit(ctx context.Context, h store.Host, ev *wire.Evidence) (wire.EvidenceResult, error) {
	start := time.Now()
	if len(ev.Nonce) == 0 {
		return wire.EvidenceResult{}, errNonceUnknown
	}
	p, version, err := v.policies.getVersion(ctx, h.Group)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	// The appraisal checks that the quotes carry ev.Nonce; the store checks,
	// when it records the verdict, that the verifier issued ev.Nonce to h.
	in := appraisal.Input{Evidence: ev, EnrolledFamily: h.TPMFamily, AKPublic: h.AKPublic, Nonce: ev.Nonce, Policy: p, Now: v.now(), BundleMemo: v.bundles}
	sentBy := sent(ev)
	if err := v.resolveEventLog(ctx, ev); err != nil {
		return wire.EvidenceResult{}, err
	}
	if err := checkEventLogSize(ev); err != nil {
		return wire.EvidenceResult{}, err
	}
	if err := v.resolveBundles(ctx, ev); err != nil {
		return wire.EvidenceResult{}, err
	}
	if h.TPMFamily != store.TPMFamily20 {
		// The enrolled family decides; a host enrolled without a TPM 2.0
		// cannot earn a Passed by sending quotes now.
		in.Evidence = &wire.Evidence{Nonce: ev.Nonce, TPMFamily: h.TPMFamily}
	}
	if in.Pins, err = v.pinsFor(ctx, h.Name, p); err != nil {
		return wire.EvidenceResult{}, err
	}
	if last := h.LastClock; last != (store.ClockInfo{}) {
		in.Last = &appraisal.ClockInfo{Clock: last.Clock, ResetCount: last.ResetCount, RestartCount: last.RestartCount}
	}
	t0 := time.Now()
	verdict := Judge(in).Verdict
	v.metrics.AppraisalTime.Observe(time.Since(t0).Seconds())
	rec, err := v.record(ctx, h, ev, judged{verdict: verdict, policyVersion: version}, time.Since(start))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return wire.EvidenceResult{}, errNonceUnknown
	case errors.Is(err, store.ErrConflict):
		return wire.EvidenceResult{}, refuse(KindForbidden, "nonce.other_host", "the nonce was issued to another host")
	case errors.Is(err, store.ErrCredentialChanged):
		// h was read before the appraisal (by the caller, possibly for the
		// connection's nonce request: internal/api/identity.go), and the
		// host enrolled again or was re-activated since: the verdict was
		// judged with an AK that is no longer its, and was not recorded.
		return wire.EvidenceResult{}, refuse(KindForbidden, codeCredentialReplaced,
			"host %q enrolled again or replaced its AK while this evidence was appraised; nothing was recorded", h.Name)
	case err != nil:
		return wire.EvidenceResult{}, err
	}
	v.pinFirst(ctx, h, p, in.Pins, verdict)
	v.metrics.AttestationTime.Observe(time.Since(start).Seconds())
	v.countFresh(ev, sentBy, rec.Blobs) // before heldLog and heldBundles remember them
	return wire.EvidenceResult{Status: rec.Status, Reason: rec.Reason, IntervalSeconds: int(p.Interval / time.Second),
		EventLogSHA256: v.heldLog(ev, rec.Blobs), BundlesSHA256: v.heldBundles(ev, rec.Blobs)}, nil
}

// judged is a verdict and the version of the group's policy it was judged
// under (0: the default policy of a group not stored).
type judged struct {
	verdict       *appraisal.Verdict
	policyVersion int
}

func (v *Verifier) record(ctx context.Context, h store.Host, ev *wire.Evidence, j judged, took time.Duration) (store.AttestationRecord, error) {
	verdict := j.verdict
	// What repeats between attestations goes to the store's blobs, once for
	// all hosts (evidence.go, verdictstore.go).
	// The verdict is the host's enrolled AK's: Submit checked the quotes
	// with it (none when it is not enrolled as a TPM 2.0).
	var ak []byte
	if h.TPMFamily == store.TPMFamily20 {
		ak = h.AKPublic
	}
	evJSON, blobs, err := splitEvidence(ev, ak)
	if err != nil {
		return store.AttestationRecord{}, err
	}
	vJSON, vBlob := splitVerdict(verdict)
	blobs = append(blobs, vBlob)
	at := v.now()
	rec := store.AttestationRecord{Host: h.Name, At: at, Status: string(verdict.Status), Evidence: evJSON, Verdict: vJSON,
		VerdictSHA256: vBlob.SHA256, Blobs: blobs, Nonce: ev.Nonce, Credential: h.Credential(),
		DurationMicros: took.Microseconds(), PolicyVersion: j.policyVersion}
	if c := firstFailure(verdict); c != nil {
		rec.ReasonCode, rec.Reason = c.Code, c.Message
	}
	if verdict.Clock != nil {
		rec.Clock = &store.ClockInfo{Clock: verdict.Clock.Clock, ResetCount: verdict.Clock.ResetCount, RestartCount: verdict.Clock.RestartCount}
	}
	if v.cfg.Webhooks {
		rec.Webhook = &store.WebhookDelivery{Event: "host.status_changed", CreatedAt: at, NextAttemptAt: at,
			Payload: statusPayload(h, rec, verdict.TrustLevel)}
	}
	t0 := time.Now()
	changed, err := v.st.RecordAttestation(ctx, rec)
	v.metrics.StoreTime.WithLabelValues("record_attestation").Observe(time.Since(t0).Seconds())
	v.noteWrite(err)
	if err != nil {
		return rec, fmt.Errorf("record attestation of %s: %w", h.Name, err)
	}
	v.metrics.Attestations.WithLabelValues(rec.Status).Inc()
	for _, c := range verdict.Checks {
		if !c.Passed {
			v.metrics.Failures.WithLabelValues(c.Code).Inc()
		}
	}
	if changed {
		v.metrics.StatusChanges.WithLabelValues(rec.Status).Inc()
		v.log.Info("host status changed", "host", h.Name, "from", h.Status, "to", rec.Status, "code", rec.ReasonCode)
		v.waiters.changed()
		v.limitHostEvidence(ctx, h.Name)
	}
	return rec, nil
}

// StatusEvent is the webhook payload of a status change.
type StatusEvent struct {
	Event      string    `json:"event"`
	Host       string    `json:"host"`
	Group      string    `json:"group"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	At         time.Time `json:"at"`
	ReasonCode string    `json:"reason_code,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	// TrustLevel is the trust level of a change to Passed
	// (appraisal.TrustLevelOf): secure_boot_only or references.
	TrustLevel string `json:"trust_level,omitempty"`
}

func statusPayload(h store.Host, rec store.AttestationRecord, trust string) []byte {
	b, _ := json.Marshal(StatusEvent{Event: "host.status_changed", Host: h.Name, Group: h.Group, From: h.Status,
		To: rec.Status, At: rec.At, ReasonCode: rec.ReasonCode, Reason: rec.Reason, TrustLevel: trust})
	return b
}

// Wait blocks until host should attest now (an operator asked) or timeout.
func (v *Verifier) Wait(ctx context.Context, h store.Host, timeout time.Duration) bool {
	woken := make(chan struct{}, 1)
	now, stop := v.Notify(ctx, h, func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	})
	if now {
		return true
	}
	defer stop()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-woken:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func requested(h store.Host) bool {
	return h.AttestRequestedAt != nil && (h.LastAttested == nil || h.AttestRequestedAt.After(*h.LastAttested))
}
