package verifier

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func TestCrossed(t *testing.T) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		now   time.Time
		every time.Duration
		want  bool
	}{
		{"sweep ending on the boundary", base, 5 * time.Second, true},
		{"sweep just after it", base.Add(4 * time.Second), 5 * time.Second, true},
		{"sweep after that", base.Add(9 * time.Second), 5 * time.Second, false},
		{"mid-period", base.Add(5 * time.Minute), 5 * time.Second, false},
		{"sweeps longer than the period", base.Add(5 * time.Minute), 20 * time.Minute, true},
	}
	for _, tt := range tests {
		if got := crossed(tt.now, tt.every, compactEvery); got != tt.want {
			t.Errorf("%s: crossed(%s, %s) = %v, want %v", tt.name, tt.now.Format(time.TimeOnly), tt.every, got, tt.want)
		}
	}
}

// TestCompactStore: a sweep mid-period only prunes by retention; the sweep
// that crosses a compactEvery boundary also rolls up the summaries that left
// the raw window and deletes unused blobs.
func TestCompactStore(t *testing.T) {
	v := newEvidenceStore(t)
	v.log, v.cfg.SummaryRetention = slog.New(slog.DiscardHandler), 7*24*time.Hour
	ctx := t.Context()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	record := func(at time.Time, blobs ...store.Blob) {
		t.Helper()
		if _, err := v.st.RecordAttestation(ctx, store.AttestationRecord{Host: "h1", At: at, Status: store.StatusPassed,
			Evidence: []byte("{}"), Blobs: blobs}); err != nil {
			t.Fatal(err)
		}
	}
	old, kept := newBlob([]byte("old log")), newBlob([]byte("new log"))
	record(now.Add(-8*24*time.Hour), old) // past the retention; its status change keeps old
	record(now.Add(-3*time.Hour), newBlob([]byte("replaced log")))
	record(now.Add(-time.Hour), kept)
	kinds := func() (raw, rollups int) {
		sums, err := v.st.Summaries(ctx, "h1", time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sums {
			if s.Period == 0 {
				raw++
			} else {
				rollups++
			}
		}
		return raw, rollups
	}
	stored := func() int {
		got, err := v.st.GetBlobs(ctx, []string{old.SHA256, kept.SHA256, newBlob([]byte("replaced log")).SHA256})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}

	v.compactStore(ctx, now.Add(5*time.Minute), 5*time.Second)
	if raw, rollups := kinds(); raw != 2 || rollups != 0 {
		t.Errorf("after a mid-period sweep: %d raw summaries and %d roll-ups, want 2 and 0", raw, rollups)
	}
	if n := stored(); n != 3 {
		t.Errorf("after a mid-period sweep: %d blobs stored, want all 3", n)
	}
	v.compactStore(ctx, now.Add(10*time.Minute), 5*time.Second)
	if raw, rollups := kinds(); raw != 1 || rollups != 1 {
		t.Errorf("after a compacting sweep: %d raw summaries and %d roll-ups, want 1 and 1", raw, rollups)
	}
	if n := stored(); n != 2 {
		t.Errorf("after a compacting sweep: %d blobs stored, want 2 (the replaced log pruned)", n)
	}
}
