package storetest

import (
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// summarise records an attestation of host at t0+d that took durMicros.
func summarise(t *testing.T, s store.Store, host string, d time.Duration, status, code string, durMicros int64) {
	t.Helper()
	_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: host, At: at(d), Status: status,
		ReasonCode: code, DurationMicros: durMicros, Credential: cred(host)})
	if err != nil {
		t.Fatalf("RecordAttestation(%s at +%s): %v", host, d, err)
	}
}

// hour is the start of a UTC hour of t0's day.
func hour(h int) time.Time { return time.Date(t0.Year(), t0.Month(), t0.Day(), h, 0, 0, 0, time.UTC) }

func raw(host string, d time.Duration, status, code string, dur int64) store.AttestationSummary {
	return store.AttestationSummary{Host: host, At: at(d), Status: status, ReasonCode: code, DurationMicros: dur,
		Count: 1, MinDurationMicros: dur, MaxDurationMicros: dur, LastAt: at(d)}
}

func rollUp(host string, h int, status, code string, n, minD, maxD, total int64, last time.Duration) store.AttestationSummary {
	return store.AttestationSummary{Host: host, At: hour(h), Status: status, ReasonCode: code, DurationMicros: total,
		Period: time.Hour, Count: n, MinDurationMicros: minD, MaxDurationMicros: maxD, LastAt: at(last)}
}

func wantSummaries(t *testing.T, s store.Store, what, host string, since time.Time, limit int, want []store.AttestationSummary) {
	t.Helper()
	got, err := s.Summaries(ctx(t), host, since, limit)
	if err != nil {
		t.Fatalf("%s: Summaries: %v", what, err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("%s: Summaries(%s, since %v, limit %d) (-want +got):\n%s", what, host, since, limit, d)
	}
}

func wantN(t *testing.T, what string, n int64, err error, want int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if n != want {
		t.Errorf("%s = %d, want %d", what, n, want)
	}
}

// testSummaryRollUp: summaries fold into one per host, hour and status; a
// part of an hour, and late rows, merge into the hour's roll-up; the list is
// raw rows, then roll-ups, newest first; the retention prunes whole hours.
func testSummaryRollUp(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	// t0 is 12:00:00.123456 UTC.
	summarise(t, s, "h1", 0, store.StatusPassed, "", 100)
	summarise(t, s, "h1", 10*time.Minute, store.StatusFailed, "a", 300)
	summarise(t, s, "h1", 20*time.Minute, store.StatusFailed, "b", 200)
	summarise(t, s, "h1", 59*time.Minute, store.StatusPassed, "", 50)
	summarise(t, s, "h1", 60*time.Minute, store.StatusPassed, "", 70)  // 13:00:00.12
	summarise(t, s, "h1", 130*time.Minute, store.StatusPassed, "", 80) // 14:10
	summarise(t, s, "h1", 200*time.Minute, store.StatusPassed, "", 90) // 15:20
	summarise(t, s, "h1", 210*time.Minute, store.StatusPassed, "", 20) // 15:30
	summarise(t, s, "h2", 5*time.Minute, store.StatusPassed, "", 10)

	// Everything before 15:00:00.12: the hours 12, 13 and 14.
	n, err := s.RollUpSummaries(ctx(t), at(3*time.Hour))
	wantN(t, "RollUpSummaries(+3h)", n, err, 7)
	wantSummaries(t, s, "rolled up", "h1", time.Time{}, 0, []store.AttestationSummary{
		raw("h1", 210*time.Minute, store.StatusPassed, "", 20),
		raw("h1", 200*time.Minute, store.StatusPassed, "", 90),
		rollUp("h1", 14, store.StatusPassed, "", 1, 80, 80, 80, 130*time.Minute),
		rollUp("h1", 13, store.StatusPassed, "", 1, 70, 70, 70, 60*time.Minute),
		rollUp("h1", 12, store.StatusFailed, "b", 2, 200, 300, 500, 20*time.Minute),
		rollUp("h1", 12, store.StatusPassed, "", 2, 50, 100, 150, 59*time.Minute),
	})
	wantSummaries(t, s, "other host", "h2", time.Time{}, 0, []store.AttestationSummary{
		rollUp("h2", 12, store.StatusPassed, "", 1, 10, 10, 10, 5*time.Minute),
	})
	n, err = s.RollUpSummaries(ctx(t), at(3*time.Hour))
	wantN(t, "RollUpSummaries(+3h) again", n, err, 0)

	// Rows recorded late merge into their hour: one before the hour's last
	// Failed, one after it (its reason code becomes the hour's).
	summarise(t, s, "h1", 5*time.Minute, store.StatusFailed, "late", 400)
	summarise(t, s, "h1", 30*time.Minute, store.StatusFailed, "later", 1)
	n, err = s.RollUpSummaries(ctx(t), at(3*time.Hour))
	wantN(t, "RollUpSummaries of late rows", n, err, 2)
	wantSummaries(t, s, "merged", "h1", time.Time{}, 3, []store.AttestationSummary{
		raw("h1", 210*time.Minute, store.StatusPassed, "", 20),
		raw("h1", 200*time.Minute, store.StatusPassed, "", 90),
		rollUp("h1", 14, store.StatusPassed, "", 1, 80, 80, 80, 130*time.Minute),
	})
	got, err := s.Summaries(ctx(t), "h1", time.Time{}, 0)
	if err != nil || len(got) != 6 {
		t.Fatalf("Summaries after merge = %d, %v; want 6", len(got), err)
	}
	if d := diff(rollUp("h1", 12, store.StatusFailed, "later", 4, 1, 400, 901, 30*time.Minute), got[4]); d != "" {
		t.Errorf("hour 12 Failed after late rows (-want +got):\n%s", d)
	}

	// Part of an hour: 15:20 is folded into hour 15, 15:30 stays raw and is
	// listed first; a second go folds it into the same roll-up.
	n, err = s.RollUpSummaries(ctx(t), at(205*time.Minute))
	wantN(t, "RollUpSummaries(15:25)", n, err, 1)
	wantSummaries(t, s, "part of hour 15", "h1", time.Time{}, 3, []store.AttestationSummary{
		raw("h1", 210*time.Minute, store.StatusPassed, "", 20),
		rollUp("h1", 15, store.StatusPassed, "", 1, 90, 90, 90, 200*time.Minute),
		rollUp("h1", 14, store.StatusPassed, "", 1, 80, 80, 80, 130*time.Minute),
	})
	n, err = s.RollUpSummaries(ctx(t), at(4*time.Hour))
	wantN(t, "RollUpSummaries(16:00)", n, err, 1)
	wantSummaries(t, s, "all of hour 15", "h1", time.Time{}, 1, []store.AttestationSummary{
		rollUp("h1", 15, store.StatusPassed, "", 2, 20, 90, 110, 210*time.Minute),
	})

	// Since 14:30: the hours 14 and 15, which end after it.
	wantSummaries(t, s, "since 14:30", "h1", at(150*time.Minute), 0, []store.AttestationSummary{
		rollUp("h1", 15, store.StatusPassed, "", 2, 20, 90, 110, 210*time.Minute),
		rollUp("h1", 14, store.StatusPassed, "", 1, 80, 80, 80, 130*time.Minute),
	})

	// At 14:00:00.12 the retention drops hours 12 and 13 (ended by then):
	// h1's three roll-ups and h2's one.
	n, err = s.PruneSummaries(ctx(t), at(2*time.Hour))
	wantN(t, "PruneSummaries(+2h)", n, err, 4)
	wantSummaries(t, s, "pruned", "h1", time.Time{}, 0, []store.AttestationSummary{
		rollUp("h1", 15, store.StatusPassed, "", 2, 20, 90, 110, 210*time.Minute),
		rollUp("h1", 14, store.StatusPassed, "", 1, 80, 80, 80, 130*time.Minute),
	})

	// Roll-ups go with their host.
	if err := s.DeleteHost(ctx(t), "h1"); err != nil {
		t.Fatalf("DeleteHost: %v", err)
	}
	mustCreateHost(t, s, newHost("h1", "prod"))
	wantSummaries(t, s, "host removed and enrolled again", "h1", time.Time{}, 0, nil)
}
