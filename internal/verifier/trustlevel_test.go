package verifier

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/metrics"
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
		if _, err := v.record(context.Background(), h, ev, &tt.verdict, time.Millisecond); err != nil {
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
