package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// queueDeliveries makes n webhook deliveries, created at t0+1s, t0+2s, ...,
// by flipping one host's status n times.
func queueDeliveries(t *testing.T, s store.Store, n int) {
	t.Helper()
	mustCreateHost(t, s, newHost("flipper", "prod"))
	statuses := []string{store.StatusPassed, store.StatusFailed}
	for i := range n {
		if !attest(t, s, "flipper", time.Duration(i+1)*time.Second, statuses[i%2], "") {
			t.Fatalf("attestation %d did not change the status", i)
		}
	}
}

func testDeliveries(t *testing.T, s store.Store) {
	queueDeliveries(t, s, 3)
	lease := time.Minute

	// Only deliveries due at now are claimed, oldest first, up to the limit.
	got, err := s.ClaimDeliveries(ctx(t), "a", at(2*time.Second), lease, 10)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("ClaimDeliveries at +2s = %d deliveries, want the 2 due", len(got))
	}
	first := got[0]
	want := store.WebhookDelivery{ID: first.ID, Event: "host.status_changed", Payload: []byte("flipper:Passed"),
		CreatedAt: at(time.Second), Attempts: 1, NextAttemptAt: at(time.Second),
		LeaseOwner: "a", LeaseUntil: ptr(at(2*time.Second + lease))}
	if d := diff(want, first); d != "" {
		t.Errorf("first claimed delivery (-want +got):\n%s", d)
	}
	// While leased, nobody else gets them; the third is now due.
	got, err = s.ClaimDeliveries(ctx(t), "b", at(3*time.Second), lease, 10)
	if err != nil || len(got) != 1 || string(got[0].Payload) != "flipper:Passed" || got[0].CreatedAt != at(3*time.Second) {
		t.Fatalf("ClaimDeliveries by b = %+v, %v; want only the third delivery", got, err)
	}
	third := got[0]

	// Delivered: never claimed again.
	if err := s.CompleteDelivery(ctx(t), first.ID, at(4*time.Second)); err != nil {
		t.Fatalf("CompleteDelivery: %v", err)
	}
	// Failed: released, due again at next.
	if err := s.FailDelivery(ctx(t), third.ID, "502 Bad Gateway", at(time.Hour)); err != nil {
		t.Fatalf("FailDelivery: %v", err)
	}
	wantErr(t, "CompleteDelivery(absent)", s.CompleteDelivery(ctx(t), 999999, t0), store.ErrNotFound)
	wantErr(t, "FailDelivery(delivered)", s.FailDelivery(ctx(t), first.ID, "late", t0), store.ErrNotFound)

	// After a's lease ends the second is claimable again, with a second attempt.
	got, err = s.ClaimDeliveries(ctx(t), "c", at(2*time.Second+lease), lease, 10)
	if err != nil || len(got) != 1 || got[0].Attempts != 2 || string(got[0].Payload) != "flipper:Failed" {
		t.Fatalf("ClaimDeliveries after lease expiry = %+v, %v; want the second delivery, attempt 2", got, err)
	}
	if err := s.CompleteDelivery(ctx(t), got[0].ID, at(3*time.Minute)); err != nil {
		t.Fatalf("CompleteDelivery: %v", err)
	}
	got, err = s.ClaimDeliveries(ctx(t), "d", at(time.Hour), lease, 10)
	if err != nil || len(got) != 1 || got[0].ID != third.ID {
		t.Fatalf("ClaimDeliveries at the retry time = %+v, %v; want the failed delivery", got, err)
	}
	if got[0].LastError != "502 Bad Gateway" || got[0].Attempts != 2 {
		t.Errorf("retried delivery: LastError %q, Attempts %d; want 502 Bad Gateway, 2", got[0].LastError, got[0].Attempts)
	}
	if _, err := s.ClaimDeliveries(ctx(t), "", t0, lease, 1); err == nil {
		t.Errorf("ClaimDeliveries with no owner succeeded")
	}
}

// testDeliveriesConcurrentClaim has several dispatchers claim at once until
// the outbox is empty: every delivery goes to exactly one.
func testDeliveriesConcurrentClaim(t *testing.T, s store.Store) {
	const n = 40
	queueDeliveries(t, s, n)
	var mu sync.Mutex
	owner := map[int64]string{}
	errs := race(8, func(i int) error {
		me := fmt.Sprintf("replica-%d", i)
		for {
			ds, err := s.ClaimDeliveries(ctx(t), me, at(time.Hour), time.Minute, 3)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return nil
			}
			mu.Lock()
			for _, d := range ds {
				if prev, ok := owner[d.ID]; ok {
					mu.Unlock()
					return fmt.Errorf("delivery %d claimed by %s and %s", d.ID, prev, me)
				}
				owner[d.ID] = me
			}
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(owner) != n {
		t.Errorf("%d deliveries claimed, want all %d", len(owner), n)
	}
}

func testLeases(t *testing.T, s store.Store) {
	steps := []struct {
		owner      string
		now, until time.Duration
		want       bool
	}{
		{"a", 0, time.Minute, true},                      // free
		{"b", 30 * time.Second, 90 * time.Second, false}, // held by a
		{"a", 50 * time.Second, 2 * time.Minute, true},   // a renews
		{"b", 90 * time.Second, 3 * time.Minute, false},  // still a's after renewal
		{"b", 2 * time.Minute, 3 * time.Minute, true},    // a's lease ended
		{"a", 2 * time.Minute, 4 * time.Minute, false},
	}
	for i, st := range steps {
		got, err := s.AcquireLease(ctx(t), "sweeper", st.owner, at(st.now), at(st.until))
		if err != nil {
			t.Fatalf("step %d: AcquireLease: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: AcquireLease(sweeper, %s, now +%s) = %v, want %v", i, st.owner, st.now, got, st.want)
		}
	}
	// Leases are independent by name.
	if got, err := s.AcquireLease(ctx(t), "retention", "a", at(2*time.Minute), at(3*time.Minute)); err != nil || !got {
		t.Errorf("AcquireLease(retention) = %v, %v; want true", got, err)
	}
}

func testLeaseRace(t *testing.T, s store.Store) {
	var mu sync.Mutex
	var holders []string
	errs := race(20, func(i int) error {
		me := fmt.Sprintf("replica-%d", i)
		ok, err := s.AcquireLease(ctx(t), "scheduler", me, t0, at(time.Minute))
		if ok {
			mu.Lock()
			holders = append(holders, me)
			mu.Unlock()
		}
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(holders) != 1 {
		t.Errorf("20 replicas racing for a free lease: %d hold it (%v), want exactly 1", len(holders), holders)
	}
}

func testKV(t *testing.T, s store.Store) {
	_, err := s.GetKV(ctx(t), "ca")
	wantErr(t, "GetKV(absent)", err, store.ErrNotFound)
	stored, err := s.PutKVIfAbsent(ctx(t), "ca", []byte("first"))
	if err != nil || string(stored) != "first" {
		t.Fatalf("PutKVIfAbsent(first) = %q, %v", stored, err)
	}
	stored, err = s.PutKVIfAbsent(ctx(t), "ca", []byte("second"))
	if err != nil || string(stored) != "first" {
		t.Errorf("PutKVIfAbsent(second) = %q, %v; want the first value kept", stored, err)
	}
	got, err := s.GetKV(ctx(t), "ca")
	if err != nil || string(got) != "first" {
		t.Errorf("GetKV = %q, %v; want first", got, err)
	}
	// Replicas racing to create the signing key all end up with the same one.
	results := make([]string, 10)
	errs := race(10, func(i int) error {
		v, err := s.PutKVIfAbsent(ctx(t), "signing-key", []byte(fmt.Sprintf("key-%d", i)))
		results[i] = string(v)
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != results[0] {
			t.Errorf("replica %d got %q, replica 0 got %q: want one value", i, r, results[0])
		}
	}
}

// testTimes checks the promise of the store package: times come back in
// UTC, cut to microseconds, whatever zone and precision went in.
func testTimes(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	in := time.Date(2026, 5, 1, 17, 30, 0, 123456789, zone)
	h := newHost("h1", "prod")
	h.EnrolledAt, h.LastSeen = in, &in
	mustCreateHost(t, s, h)
	got := mustGetHost(t, s, "h1")
	want := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	for name, v := range map[string]time.Time{"EnrolledAt": got.EnrolledAt, "LastSeen": *got.LastSeen} {
		if v != want { // == on purpose: same instant, location and precision
			t.Errorf("%s = %v (%s), want %v", name, v, v.Location(), want)
		}
	}
	if !got.StatusSince.Equal(t0) {
		t.Errorf("StatusSince = %v, want %v", got.StatusSince, t0)
	}
}

func testEnqueueDelivery(t *testing.T, s store.Store) {
	d := store.WebhookDelivery{Event: "placement.warn", Payload: []byte(`{"host":"h"}`), CreatedAt: at(time.Second)}
	if err := s.EnqueueDelivery(ctx(t), d); err != nil {
		t.Fatalf("EnqueueDelivery: %v", err)
	}
	if got, err := s.ClaimDeliveries(ctx(t), "a", at(0), time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed %+v, %v before it was due", got, err)
	}
	got, err := s.ClaimDeliveries(ctx(t), "a", at(time.Second), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Event != "placement.warn" || string(got[0].Payload) != `{"host":"h"}` {
		t.Fatalf("ClaimDeliveries = %+v, %v; want the enqueued event", got, err)
	}
}
