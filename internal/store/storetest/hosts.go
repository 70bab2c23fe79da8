package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func testGroups(t *testing.T, s store.Store) {
	if _, err := s.GetGroup(ctx(t), "prod"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetGroup(absent) error = %v, want ErrNotFound", err)
	}
	prod := store.Group{Name: "prod", Policy: []byte("secureBoot: required\n"), CreatedAt: t0, UpdatedAt: t0}
	lab := store.Group{Name: "lab", Policy: nil, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	for _, g := range []store.Group{prod, lab} {
		if err := s.PutGroup(ctx(t), g); err != nil {
			t.Fatalf("PutGroup(%q): %v", g.Name, err)
		}
	}
	// A second put replaces the policy and UpdatedAt, not CreatedAt.
	if err := s.PutGroup(ctx(t), store.Group{Name: "prod", Policy: []byte("v2"), CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}); err != nil {
		t.Fatalf("PutGroup(prod again): %v", err)
	}
	want := store.Group{Name: "prod", Policy: []byte("v2"), CreatedAt: t0, UpdatedAt: at(time.Hour), PolicyVersion: 2}
	got, err := s.GetGroup(ctx(t), "prod")
	if err != nil {
		t.Fatalf("GetGroup(prod): %v", err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("GetGroup(prod) after update (-want +got):\n%s", d)
	}
	all, err := s.ListGroups(ctx(t))
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	lab.PolicyVersion = 1
	if d := diff([]store.Group{lab, want}, all); d != "" {
		t.Errorf("ListGroups (-want +got):\n%s", d)
	}
}

func testDeleteGroup(t *testing.T, s store.Store) {
	for _, g := range []string{"empty", "busy"} {
		if err := s.PutGroup(ctx(t), store.Group{Name: g, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("PutGroup(%q): %v", g, err)
		}
	}
	mustCreateHost(t, s, newHost("h1", "busy"))
	wantErr(t, "DeleteGroup(busy)", s.DeleteGroup(ctx(t), "busy"), store.ErrConflict)
	wantErr(t, "DeleteGroup(absent)", s.DeleteGroup(ctx(t), "absent"), store.ErrNotFound)
	if err := s.DeleteGroup(ctx(t), "empty"); err != nil {
		t.Fatalf("DeleteGroup(empty): %v", err)
	}
	_, err := s.GetGroup(ctx(t), "empty")
	wantErr(t, "GetGroup(deleted)", err, store.ErrNotFound)
	if _, err := s.GetGroup(ctx(t), "busy"); err != nil {
		t.Errorf("GetGroup(busy) after refused delete: %v", err)
	}
}

func testHostRoundTrip(t *testing.T, s store.Store) {
	full := newHost("full", "prod")
	full.Status, full.StatusSince = store.StatusFailed, at(time.Minute)
	full.LastAttested, full.LastSeen = ptr(at(2*time.Minute)), ptr(at(3*time.Minute))
	full.ReasonCode, full.Reason = "pcr.replay_mismatch", "PCR 4 does not replay"
	full.LastClock = store.ClockInfo{Clock: 1<<63 + 5, ResetCount: 1<<32 - 1, RestartCount: 7}
	full.PendingEKPublic, full.PendingEKCert, full.PendingEKAt = []byte("new-ek"), []byte("new-cert"), ptr(at(4*time.Minute))
	full.AttestRequestedAt = ptr(at(5 * time.Minute))
	bare := store.Host{Name: "bare", Group: "lab", TPMFamily: store.TPMFamilyNone, Status: store.StatusNA,
		EnrolledAt: t0, StatusSince: t0}
	for _, h := range []store.Host{full, bare} {
		mustCreateHost(t, s, h)
		if d := diff(h, mustGetHost(t, s, h.Name)); d != "" {
			t.Errorf("GetHost(%q) after CreateHost (-want +got):\n%s", h.Name, d)
		}
	}
	got, err := s.GetHostByEK(ctx(t), full.EKDigest)
	if err != nil {
		t.Fatalf("GetHostByEK: %v", err)
	}
	if got.Name != "full" {
		t.Errorf("GetHostByEK(%q) = host %q, want full", full.EKDigest, got.Name)
	}
}

func testHostErrors(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	wantErr(t, "CreateHost(duplicate)", s.CreateHost(ctx(t), newHost("h1", "other")), store.ErrConflict)
	_, err := s.GetHost(ctx(t), "absent")
	wantErr(t, "GetHost(absent)", err, store.ErrNotFound)
	_, err = s.GetHostByEK(ctx(t), "no-such-digest")
	wantErr(t, "GetHostByEK(absent)", err, store.ErrNotFound)
	bad := newHost("h2", "prod")
	bad.Status = "Great"
	if err := s.CreateHost(ctx(t), bad); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateHost(status %q) error = %v, want a validation error", bad.Status, err)
	}
	if err := s.CreateHost(ctx(t), store.Host{Status: store.StatusPending}); err == nil {
		t.Errorf("CreateHost(empty name) succeeded")
	}
	_, err = s.UpdateHost(ctx(t), "absent", func(*store.Host) error { return nil })
	wantErr(t, "UpdateHost(absent)", err, store.ErrNotFound)
	wantErr(t, "DeleteHost(absent)", s.DeleteHost(ctx(t), "absent"), store.ErrNotFound)
}

func testUpdateHost(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	got, err := s.UpdateHost(ctx(t), "h1", func(h *store.Host) error {
		h.AKPublic = []byte("new-ak")
		h.LastSeen = ptr(at(time.Hour))
		h.PendingEKPublic = []byte("changed-ek")
		h.PendingEKAt = ptr(at(time.Hour))
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateHost: %v", err)
	}
	want := newHost("h1", "prod")
	want.AKPublic, want.LastSeen = []byte("new-ak"), ptr(at(time.Hour))
	want.PendingEKPublic, want.PendingEKAt = []byte("changed-ek"), ptr(at(time.Hour))
	if d := diff(want, got); d != "" {
		t.Errorf("UpdateHost returned (-want +got):\n%s", d)
	}
	if d := diff(want, mustGetHost(t, s, "h1")); d != "" {
		t.Errorf("GetHost after UpdateHost (-want +got):\n%s", d)
	}

	// An error from fn writes nothing and comes back unchanged.
	errVeto := errors.New("operator said no")
	_, err = s.UpdateHost(ctx(t), "h1", func(h *store.Host) error {
		h.AKPublic = []byte("should not be written")
		return errVeto
	})
	wantErr(t, "UpdateHost(fn fails)", err, errVeto)
	if d := diff(want, mustGetHost(t, s, "h1")); d != "" {
		t.Errorf("GetHost after a failed UpdateHost (-want +got):\n%s", d)
	}
	if _, err := s.UpdateHost(ctx(t), "h1", func(h *store.Host) error { h.Name = "h2"; return nil }); err == nil {
		t.Errorf("UpdateHost renaming the host succeeded")
	}
	if _, err := s.GetHost(ctx(t), "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetHost(h2) after refused rename: error = %v, want ErrNotFound", err)
	}
}

// testUpdateHostConcurrent shows that UpdateHost is one read-modify-write:
// concurrent increments are never lost.
func testUpdateHostConcurrent(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	const n = 20
	errs := race(n, func(int) error {
		_, err := s.UpdateHost(ctx(t), "h1", func(h *store.Host) error { h.LastClock.Clock++; return nil })
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateHost #%d: %v", i, err)
		}
	}
	if got := mustGetHost(t, s, "h1").LastClock.Clock; got != n {
		t.Errorf("after %d concurrent increments Clock = %d, want %d", n, got, n)
	}
}

func testDeleteHostCascades(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	for _, h := range []string{"h1", "h2"} {
		if _, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: h, At: t0, Status: store.StatusPassed,
			Evidence: []byte("{}"), Verdict: []byte("{}"), Credential: cred(h)}); err != nil {
			t.Fatalf("RecordAttestation(%s): %v", h, err)
		}
	}
	if err := s.DeleteHost(ctx(t), "h1"); err != nil {
		t.Fatalf("DeleteHost: %v", err)
	}
	_, err := s.GetHost(ctx(t), "h1")
	wantErr(t, "GetHost(deleted)", err, store.ErrNotFound)
	_, err = s.LatestEvidence(ctx(t), "h1")
	wantErr(t, "LatestEvidence(deleted)", err, store.ErrNotFound)
	if hist, err := s.History(ctx(t), "h1", 0, 0); err != nil || len(hist) != 0 {
		t.Errorf("History(deleted) = %d changes, %v; want none", len(hist), err)
	}
	if sums, err := s.Summaries(ctx(t), "h1", time.Time{}, 0); err != nil || len(sums) != 0 {
		t.Errorf("Summaries(deleted) = %d, %v; want none", len(sums), err)
	}
	// The other host keeps its records, and the name can be enrolled again.
	if _, err := s.LatestEvidence(ctx(t), "h2"); err != nil {
		t.Errorf("LatestEvidence(h2): %v", err)
	}
	mustCreateHost(t, s, newHost("h1", "lab"))
}

func testCountByStatus(t *testing.T, s store.Store) {
	empty, err := s.CountByStatus(ctx(t), "")
	if err != nil {
		t.Fatalf("CountByStatus on empty store: %v", err)
	}
	want := map[string]int{store.StatusPassed: 0, store.StatusFailed: 0, store.StatusNA: 0,
		store.StatusUnreachable: 0, store.StatusPending: 0}
	if d := diff(want, empty); d != "" {
		t.Errorf("CountByStatus(empty store) (-want +got):\n%s", d)
	}
	for i, st := range []string{store.StatusPassed, store.StatusPassed, store.StatusFailed, store.StatusNA, store.StatusPassed} {
		h := newHost(fmt.Sprintf("h%d", i), []string{"prod", "lab"}[i%2])
		h.Status = st
		mustCreateHost(t, s, h)
	}
	tests := []struct {
		group string
		want  map[string]int
	}{
		{"", map[string]int{store.StatusPassed: 3, store.StatusFailed: 1, store.StatusNA: 1, store.StatusUnreachable: 0, store.StatusPending: 0}},
		{"prod", map[string]int{store.StatusPassed: 2, store.StatusFailed: 1, store.StatusNA: 0, store.StatusUnreachable: 0, store.StatusPending: 0}},
		{"none", want},
	}
	for _, tt := range tests {
		got, err := s.CountByStatus(ctx(t), tt.group)
		if err != nil {
			t.Fatalf("CountByStatus(%q): %v", tt.group, err)
		}
		if d := diff(tt.want, got); d != "" {
			t.Errorf("CountByStatus(%q) (-want +got):\n%s", tt.group, d)
		}
	}
}

func testRequestAttest(t *testing.T, s store.Store) {
	for _, h := range []store.Host{newHost("a1", "a"), newHost("a2", "a"), newHost("b1", "b")} {
		mustCreateHost(t, s, h)
	}
	if _, err := s.RequestAttest(ctx(t), store.AttestSelector{}, t0); err == nil {
		t.Errorf("RequestAttest(empty selector) succeeded")
	}
	if _, err := s.RequestAttest(ctx(t), store.AttestSelector{Host: "a1", All: true}, t0); err == nil {
		t.Errorf("RequestAttest(two selectors) succeeded")
	}
	_, err := s.RequestAttest(ctx(t), store.AttestSelector{Host: "absent"}, t0)
	wantErr(t, "RequestAttest(absent host)", err, store.ErrNotFound)

	steps := []struct {
		sel   store.AttestSelector
		at    time.Time
		n     int
		since time.Time
		want  []string
	}{
		{store.AttestSelector{Host: "b1"}, at(time.Minute), 1, t0, []string{"b1"}},
		{store.AttestSelector{Group: "a"}, at(2 * time.Minute), 2, at(2 * time.Minute), []string{"a1", "a2"}},
		{store.AttestSelector{All: true}, at(3 * time.Minute), 3, at(time.Minute), []string{"a1", "a2", "b1"}},
	}
	for _, st := range steps {
		n, err := s.RequestAttest(ctx(t), st.sel, st.at)
		if err != nil || n != st.n {
			t.Errorf("RequestAttest(%+v) = %d, %v; want %d", st.sel, n, err, st.n)
		}
		got, err := s.AttestRequestedSince(ctx(t), st.since)
		if err != nil {
			t.Fatalf("AttestRequestedSince: %v", err)
		}
		if d := diff(st.want, got); d != "" {
			t.Errorf("AttestRequestedSince(%s) after RequestAttest(%+v) (-want +got):\n%s", st.since, st.sel, d)
		}
	}
	// An attestation after the request answers it; one before does not.
	if _, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "a1", At: at(4 * time.Minute), Status: store.StatusPassed,
		Credential: cred("a1")}); err != nil {
		t.Fatalf("RecordAttestation(a1): %v", err)
	}
	if _, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "a2", At: at(2 * time.Minute), Status: store.StatusPassed,
		Credential: cred("a2")}); err != nil {
		t.Fatalf("RecordAttestation(a2): %v", err)
	}
	got, err := s.AttestRequestedSince(ctx(t), time.Time{})
	if err != nil {
		t.Fatalf("AttestRequestedSince: %v", err)
	}
	if d := diff([]string{"a2", "b1"}, got); d != "" {
		t.Errorf("open requests after attesting a1 (-want +got):\n%s", d)
	}
}
