package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/store"
)

// sickStore fails what the test says: reads, writes (the probe's lease),
// the fleet count; it counts the probes' writes.
type sickStore struct {
	store.Store
	readErr, writeErr, countErr error
	writes                      int
	lastUntil                   time.Time
}

func (s *sickStore) ListGroups(ctx context.Context) ([]store.Group, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, s.readErr
}

func (s *sickStore) AcquireLease(_ context.Context, _, _ string, _, until time.Time) (bool, error) {
	if s.writeErr != nil {
		return false, s.writeErr
	}
	s.writes++
	s.lastUntil = until
	return true, nil
}

func (s *sickStore) CountByStatus(context.Context, string) (map[string]int, error) {
	if s.countErr != nil {
		return nil, s.countErr
	}
	return map[string]int{store.StatusPassed: 7}, nil
}

func newSickVerifier(st *sickStore, now *time.Time) *Verifier {
	return &Verifier{st: st, now: func() time.Time { return *now }, metrics: metrics.New(),
		cfg: Config{ReplicaID: "r1"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestStoreHealthProbes: a probe reads and writes (a changed row each
// time), its answer is reused for storeProbeCache, a failed read or write
// is reported as such, and the last-write time and metric move only with
// successful writes.
func TestStoreHealthProbes(t *testing.T) {
	st := &sickStore{}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	v := newSickVerifier(st, &now)
	ctx := context.Background()

	wrote := now
	h := v.StoreHealth(ctx)
	if !h.Ready || h.Problem != "" || !h.LastWrite.Equal(now) || st.writes != 1 {
		t.Fatalf("healthy store: %+v after %d writes", h, st.writes)
	}
	if got := gaugeValue(t, v.metrics.StoreLastWrite); got != float64(now.Unix()) {
		t.Errorf("last-write metric %v, want %d", got, now.Unix())
	}
	firstUntil := st.lastUntil
	now = now.Add(storeProbeCache / 2)
	if v.StoreHealth(ctx); st.writes != 1 {
		t.Errorf("a probe within %v of the last one wrote again (%d writes)", storeProbeCache, st.writes)
	}

	now = now.Add(storeProbeCache)
	st.writeErr = errors.New("database or disk is full")
	h = v.StoreHealth(ctx)
	if h.Ready || h.Problem != StoreCannotWrite || !errors.Is(h.Err, st.writeErr) || !h.LastWrite.Equal(wrote) {
		t.Errorf("full disk: %+v", h)
	}
	if got := gaugeValue(t, v.metrics.StoreLastWrite); got != float64(wrote.Unix()) {
		t.Errorf("last-write metric moved on a failed write: %v", got)
	}

	now = now.Add(storeProbeCache)
	st.writeErr = nil
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if h = v.StoreHealth(cancelled); !h.Ready {
		t.Errorf("a caller that went away made the store unready: %+v", h)
	}

	now = now.Add(storeProbeCache)
	st.readErr = errors.New("connection refused")
	if h = v.StoreHealth(ctx); h.Ready || h.Problem != StoreCannotRead {
		t.Errorf("store down: %+v", h)
	}

	now = now.Add(storeProbeCache)
	st.readErr, st.writeErr = nil, nil
	if h = v.StoreHealth(ctx); !h.Ready || !h.LastWrite.Equal(now) {
		t.Errorf("recovered store: %+v", h)
	}
	if !st.lastUntil.After(firstUntil) || st.lastUntil.After(now) {
		t.Errorf("probe lease until %v then %v: want a growing instant in the past, so every probe changes its row", firstUntil, st.lastUntil)
	}
}

// TestSweepKeepsCountsWhenCountingFails: bootproof_hosts keeps its last
// counts (not zeros) when counting fails, counting goes on while writes
// fail, and bootproof_hosts_counted_timestamp_seconds says when the counts
// were taken.
func TestSweepKeepsCountsWhenCountingFails(t *testing.T) {
	st := &sickStore{writeErr: errors.New("database or disk is full")}
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := start
	v := newSickVerifier(st, &now)
	var counted time.Time
	v.sweepOnce(context.Background(), 5*time.Second, &counted)
	passed := v.metrics.HostsByStatus.WithLabelValues(store.StatusPassed)
	if got := gaugeValue(t, passed); got != 7 {
		t.Fatalf("bootproof_hosts{Passed} = %v with writes failing, want 7 (counting only reads)", got)
	}
	st.countErr = errors.New("connection refused")
	now = start.Add(hostCountEvery)
	v.sweepOnce(context.Background(), 5*time.Second, &counted)
	if got := gaugeValue(t, passed); got != 7 {
		t.Errorf("bootproof_hosts{Passed} = %v after a failed count, want the last count 7", got)
	}
	if got := gaugeValue(t, v.metrics.HostsCounted); got != float64(start.Unix()) {
		t.Errorf("counted at %v, want %d (the last good count)", got, start.Unix())
	}
}

// TestStaleSince: a host is stale once its last contact is older than its
// group's limit, unless it is Unreachable already.
func TestStaleSince(t *testing.T) {
	enrolled := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	attested := enrolled.Add(time.Minute)
	seen := attested.Add(10 * time.Second)
	limit := 4 * time.Second
	tests := []struct {
		name      string
		h         store.Host
		now       time.Time
		wantStale bool
		wantSince time.Time
	}{
		{"fresh Passed", store.Host{Status: store.StatusPassed, EnrolledAt: enrolled, LastAttested: &attested}, attested.Add(limit), false, attested.Add(limit)},
		{"Passed past its limit", store.Host{Status: store.StatusPassed, EnrolledAt: enrolled, LastAttested: &attested}, attested.Add(limit + time.Millisecond), true, attested.Add(limit)},
		{"seen later than attested", store.Host{Status: store.StatusFailed, EnrolledAt: enrolled, LastAttested: &attested, LastSeen: &seen}, seen.Add(limit + time.Second), true, seen.Add(limit)},
		{"Pending never attested", store.Host{Status: store.StatusPending, EnrolledAt: enrolled}, enrolled.Add(time.Hour), true, enrolled.Add(limit)},
		{"Unreachable already", store.Host{Status: store.StatusUnreachable, EnrolledAt: enrolled, LastAttested: &attested}, attested.Add(time.Hour), false, time.Time{}},
	}
	for _, tt := range tests {
		since, stale := StaleSince(tt.h, limit, tt.now)
		if stale != tt.wantStale || !since.Equal(tt.wantSince) {
			t.Errorf("%s: stale %v since %v, want %v since %v", tt.name, stale, since, tt.wantStale, tt.wantSince)
		}
	}
}

// TestStoreHealthAfterRealWriteFails: on a full disk the probe's one-row
// rewrite may still succeed (the row's page is reused) while an
// attestation, which needs new pages, fails. Readiness must follow the
// real work: not ready for storeFailWindow after such a failure, ready
// again after it; a write refused on its merits (an unknown nonce) or a
// caller that went away is not the store failing.
func TestStoreHealthAfterRealWriteFails(t *testing.T) {
	st := &sickStore{}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	v := newSickVerifier(st, &now)
	ctx := context.Background()
	diskFull := errors.New("database or disk is full")
	tests := []struct {
		name      string
		err       error
		wantReady bool
	}{
		{name: "store failed", err: fmt.Errorf("record attestation of h1: %w", diskFull), wantReady: false},
		{name: "nonce unknown", err: fmt.Errorf("record: %w", store.ErrNotFound), wantReady: true},
		{name: "credential replaced", err: store.ErrCredentialChanged, wantReady: true},
		{name: "caller went away", err: context.Canceled, wantReady: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = now.Add(storeFailWindow + storeProbeCache)
			v.noteWrite(tt.err)
			now = now.Add(storeProbeCache)
			h := v.StoreHealth(ctx)
			if h.Ready != tt.wantReady {
				t.Fatalf("after a write that failed with %v: ready %v (%+v), want %v", tt.err, h.Ready, h, tt.wantReady)
			}
			if !tt.wantReady && (h.Problem != StoreCannotWrite || !errors.Is(h.Err, diskFull)) {
				t.Errorf("not ready for the wrong reason: %+v", h)
			}
			now = now.Add(storeFailWindow)
			if h := v.StoreHealth(ctx); !h.Ready {
				t.Errorf("%v after the failed write and a good probe: still not ready: %+v", storeFailWindow, h)
			}
		})
	}
}

// TestLastWriteStandsStillWhileWritesFail: a write that succeeds while
// others fail (a nonce on a full disk) does not move the last-write clock;
// once storeFailWindow has passed with no failure, a success does.
func TestLastWriteStandsStillWhileWritesFail(t *testing.T) {
	st := &sickStore{}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	v := newSickVerifier(st, &now)
	v.noteWrite(nil)
	good := now
	now = now.Add(time.Second)
	v.noteWrite(errors.New("database or disk is full"))
	now = now.Add(time.Second)
	v.noteWrite(nil)
	if got := gaugeValue(t, v.metrics.StoreLastWrite); got != float64(good.Unix()) {
		t.Errorf("last-write metric %v a second after a failed write, want it standing at %d", got, good.Unix())
	}
	now = now.Add(storeFailWindow)
	v.noteWrite(nil)
	if got := gaugeValue(t, v.metrics.StoreLastWrite); got != float64(now.Unix()) {
		t.Errorf("last-write metric %v after %v with no failure, want %d", got, storeFailWindow, now.Unix())
	}
}
