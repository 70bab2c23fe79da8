package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

// TestRollUpBatches: folding in batches of any size, with rows sharing
// their time across a batch's edge, gives the roll-ups of one fold.
func TestRollUpBatches(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") },
		"postgres": func(t *testing.T) string { return pgtest.Start(t) },
	} {
		t.Run(name, func(t *testing.T) {
			var want map[string][]store.AttestationSummary
			for _, batch := range []int{1_000_000, 1, 7} {
				s := open(t, dsn(t))
				sqlstore.SetRollUpBatch(s, batch)
				seedHosts(t, s, 3)
				// 40 attestations per host over three hours; all three hosts
				// share each time, so ties straddle batch edges.
				statuses := []string{store.StatusPassed, store.StatusPassed, store.StatusFailed}
				for i := range 40 {
					for h := range 3 {
						_, err := s.RecordAttestation(t.Context(), store.AttestationRecord{
							Host: fmt.Sprintf("host-%05d", h), At: benchT0.Add(time.Duration(i) * 4 * time.Minute),
							Status: statuses[(i+h)%3], ReasonCode: fmt.Sprint("code-", i), DurationMicros: int64(i*10 + h),
							Credential: seedCred})
						if err != nil {
							t.Fatalf("RecordAttestation: %v", err)
						}
					}
				}
				n, err := s.RollUpSummaries(t.Context(), benchT0.Add(150*time.Minute))
				if err != nil {
					t.Fatalf("batch %d: RollUpSummaries: %v", batch, err)
				}
				if n != 38*3 { // +0 .. +148 min
					t.Errorf("batch %d: folded %d, want %d", batch, n, 38*3)
				}
				got := map[string][]store.AttestationSummary{}
				for h := range 3 {
					name := fmt.Sprintf("host-%05d", h)
					if got[name], err = s.Summaries(t.Context(), name, time.Time{}, 0); err != nil {
						t.Fatal(err)
					}
				}
				if want == nil {
					want = got
					continue
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("batch %d: summaries differ from one fold (-one +batched):\n%s", batch, d)
				}
			}
		})
	}
}
