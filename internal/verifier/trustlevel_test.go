package verifier

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestWebhookTrustLevel: a change to Passed says in its webhook at which
// trust level the host passed; a change to Failed says none.
func TestWebhookTrustLevel(t *testing.T) {
	tests := []struct {
		verdict appraisal.Verdict
		want    string
	}{
		{appraisal.Verdict{Status: appraisal.Passed, TrustLevel: appraisal.TrustSecureBootOnly}, appraisal.TrustSecureBootOnly},
		{appraisal.Verdict{Status: appraisal.Passed, TrustLevel: appraisal.TrustReferences}, appraisal.TrustReferences},
		{appraisal.Verdict{Status: appraisal.Failed}, ""},
	}
	for _, tt := range tests {
		now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
		h := store.Host{Name: "esx-01", Group: "prod", Status: store.StatusPending, TPMFamily: store.TPMFamily20}
		st := &outboxStore{host: h}
		v := &Verifier{cfg: Config{Webhooks: true}, st: st, now: func() time.Time { return now },
			metrics: metrics.New(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		ev := &wire.Evidence{Nonce: []byte("nonce"), TPMFamily: wire.FamilyTPM20}
		if _, err := v.record(context.Background(), h, ev, judged{verdict: &tt.verdict}, time.Millisecond); err != nil {
			t.Fatalf("record: %v", err)
		}
		var got StatusEvent
		if err := json.Unmarshal(st.recorded[0].Webhook.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.To != string(tt.verdict.Status) || got.TrustLevel != tt.want {
			t.Errorf("webhook of a change to %s at %q: to %s, trust_level %q", tt.verdict.Status, tt.verdict.TrustLevel, got.To, got.TrustLevel)
		}
	}
}

// groupsStore has two groups with Passed hosts, for the trust gauge.
type groupsStore struct {
	store.Store
	passed map[string]int
}

func (s groupsStore) ListGroups(context.Context) ([]store.Group, error) {
	return []store.Group{{Name: "esx"}, {Name: "lab"}}, nil
}

func (s groupsStore) CountByStatus(_ context.Context, group string) (map[string]int, error) {
	return map[string]int{store.StatusPassed: s.passed[group], store.StatusFailed: 7}, nil
}

// TestPassedByTrustGauge: bootproof_passed_hosts counts each group's
// Passed hosts at its policy's trust level (and no Failed host).
func TestPassedByTrustGauge(t *testing.T) {
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	withRefs := policy.Default()
	withRefs.PerHost = []string{policy.ClassInitrd}
	st := groupsStore{passed: map[string]int{"esx": 3, "lab": 2}}
	v := &Verifier{st: st, now: func() time.Time { return now }, metrics: metrics.New(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	v.policies = policyCache{st: st, now: v.now, m: map[string]cachedPolicy{
		"esx": {p: withRefs, fetched: now}, "lab": {p: policy.Default(), fetched: now}}}
	v.countTrustLevels(context.Background())
	mfs, err := v.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "bootproof_passed_hosts" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{appraisal.TrustReferences: 3, appraisal.TrustSecureBootOnly: 2}
	if !maps.Equal(got, want) {
		t.Errorf("bootproof_passed_hosts = %v, want %v", got, want)
	}
}
