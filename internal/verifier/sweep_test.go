package verifier

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/store"
)

// countingStore answers the sweeper's lease (never held, as on a replica
// that is not the sweeper) and counts the fleet counts it is asked for.
type countingStore struct {
	store.Store
	counts int
}

func (s *countingStore) AcquireLease(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return false, nil
}

func (s *countingStore) ListGroups(context.Context) ([]store.Group, error) { return nil, nil }

func (s *countingStore) CountByStatus(context.Context, string) (map[string]int, error) {
	s.counts++
	return map[string]int{store.StatusFailed: s.counts}, nil
}

// TestSweepCountsHostsEveryHalfMinute: the status gauge is refreshed on the
// first sweep and then every hostCountEvery, not at every 5 s sweep, on
// every replica; a clock set back counts again rather than freezing the
// gauge.
func TestSweepCountsHostsEveryHalfMinute(t *testing.T) {
	st := &countingStore{}
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	now := start
	v := &Verifier{st: st, now: func() time.Time { return now }, metrics: metrics.New(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var counted time.Time
	failedGauge := func() float64 {
		var m dto.Metric
		if err := v.metrics.HostsByStatus.WithLabelValues(store.StatusFailed).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}

	tests := []struct {
		at         time.Duration
		wantCounts int
	}{
		{0, 1}, {5 * time.Second, 1}, {25 * time.Second, 1}, {30 * time.Second, 2}, {55 * time.Second, 2},
		{60 * time.Second, 3}, {10 * time.Second, 4}, // the clock went back
	}
	for _, tt := range tests {
		now = start.Add(tt.at)
		v.sweepOnce(context.Background(), 5*time.Second, &counted)
		if st.counts != tt.wantCounts {
			t.Fatalf("after the sweep at +%v: %d counts, want %d", tt.at, st.counts, tt.wantCounts)
		}
		if got := failedGauge(); got != float64(st.counts) {
			t.Fatalf("after the sweep at +%v: gauge %v, want the latest count %d", tt.at, got, st.counts)
		}
	}
}
