package verifier

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// outboxStore keeps what the verifier would queue for webhook receivers:
// the delivery carried by a record, those queued on their own, and the
// unreachable sweep's payloads.
type outboxStore struct {
	store.Store
	host      store.Host
	recorded  []store.AttestationRecord
	enqueued  []store.WebhookDelivery
	swept     []byte
	sweepAsks int
}

func (s *outboxStore) RecordAttestation(_ context.Context, r store.AttestationRecord) (bool, error) {
	s.recorded = append(s.recorded, r)
	return true, nil
}

func (s *outboxStore) LimitEvidence(context.Context, string, store.EvidenceLimits, time.Time) (int, error) {
	return 0, nil
}

func (s *outboxStore) EnqueueDelivery(_ context.Context, d store.WebhookDelivery) error {
	s.enqueued = append(s.enqueued, d)
	return nil
}

func (s *outboxStore) GetHost(context.Context, string) (store.Host, error) { return s.host, nil }

func (s *outboxStore) AppendAudit(context.Context, store.AuditEntry) error { return nil }

func (s *outboxStore) ListGroups(context.Context) ([]store.Group, error) { return nil, nil }

func (s *outboxStore) MarkUnreachable(_ context.Context, _ map[string]time.Time, _, _ time.Time,
	payload func(store.Host) []byte) ([]string, error) {
	s.sweepAsks++
	if payload != nil {
		s.swept = payload(s.host)
	}
	return nil, nil
}

// TestWebhooksOnlyWithReceivers: status changes, placement warnings and
// hosts found unreachable are queued for delivery when webhook receivers
// are configured, and not at all otherwise (a queued row nobody receives
// is still written, claimed and marked delivered).
func TestWebhooksOnlyWithReceivers(t *testing.T) {
	for _, receivers := range []bool{false, true} {
		now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
		h := store.Host{Name: "esx-01", Group: "prod", Status: store.StatusPending, TPMFamily: store.TPMFamily20}
		st := &outboxStore{host: h}
		v := &Verifier{cfg: Config{Webhooks: receivers}, st: st, now: func() time.Time { return now },
			metrics: metrics.New(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		warn := policy.Default()
		warn.Enforcement = policy.EnforceWarn
		v.policies = policyCache{st: st, now: v.now, m: map[string]cachedPolicy{"prod": {p: warn, fetched: now}}}

		ev := &wire.Evidence{Nonce: []byte("nonce"), TPMFamily: wire.FamilyTPM20}
		if _, err := v.record(context.Background(), h, ev, judged{verdict: &appraisal.Verdict{Status: appraisal.Failed}}, time.Millisecond); err != nil {
			t.Fatalf("record: %v", err)
		}
		if _, err := v.Placement(context.Background(), "scheduler", h.Name); err != nil {
			t.Fatalf("Placement: %v", err)
		}
		if err := v.markUnreachable(context.Background(), now); err != nil {
			t.Fatalf("markUnreachable: %v", err)
		}

		if len(st.recorded) != 1 || st.sweepAsks != 1 {
			t.Fatalf("receivers %v: %d records and %d sweeps, want 1 and 1", receivers, len(st.recorded), st.sweepAsks)
		}
		queued := map[string]bool{}
		if d := st.recorded[0].Webhook; d != nil {
			queued[d.Event] = true
		}
		for _, d := range st.enqueued {
			queued[d.Event] = true
		}
		if st.swept != nil {
			queued["unreachable"] = true
		}
		for _, event := range []string{"host.status_changed", "placement.warn", "unreachable"} {
			if queued[event] != receivers {
				t.Errorf("receivers configured: %v; %s queued: %v", receivers, event, queued[event])
			}
		}
	}
}
