package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func testNonces(t *testing.T, s store.Store) {
	n := store.Nonce{Value: []byte{0, 1, 2, 0xff}, Host: "h1", ExpiresAt: at(time.Minute)}
	if err := s.PutNonce(ctx(t), n); err != nil {
		t.Fatalf("PutNonce: %v", err)
	}
	wantErr(t, "PutNonce(same value)", s.PutNonce(ctx(t), store.Nonce{Value: n.Value, Host: "h2", ExpiresAt: at(time.Hour)}), store.ErrConflict)
	got, err := s.TakeNonce(ctx(t), n.Value, t0)
	if err != nil {
		t.Fatalf("TakeNonce: %v", err)
	}
	if d := diff(n, got); d != "" {
		t.Errorf("TakeNonce (-want +got):\n%s", d)
	}
	_, err = s.TakeNonce(ctx(t), n.Value, t0)
	wantErr(t, "TakeNonce(taken)", err, store.ErrNotFound)
	_, err = s.TakeNonce(ctx(t), []byte("never issued"), t0)
	wantErr(t, "TakeNonce(never issued)", err, store.ErrNotFound)

	old := store.Nonce{Value: []byte("old"), Host: "h1", ExpiresAt: at(time.Minute)}
	if err := s.PutNonce(ctx(t), old); err != nil {
		t.Fatalf("PutNonce: %v", err)
	}
	_, err = s.TakeNonce(ctx(t), old.Value, at(time.Minute))
	wantErr(t, "TakeNonce(at expiry)", err, store.ErrNotFound)
	if err := s.PutNonce(ctx(t), old); err != nil {
		t.Errorf("PutNonce(value of an expired, refused nonce) = %v; want it gone", err)
	}
}

func testNonceRace(t *testing.T, s store.Store) {
	n := store.Nonce{Value: []byte("contested"), Host: "h1", ExpiresAt: at(time.Minute)}
	if err := s.PutNonce(ctx(t), n); err != nil {
		t.Fatalf("PutNonce: %v", err)
	}
	errs := race(20, func(int) error { _, err := s.TakeNonce(ctx(t), n.Value, t0); return err })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("losing TakeNonce: error = %v, want ErrNotFound", err)
		}
	}
	if wins != 1 {
		t.Errorf("20 racing TakeNonce: %d won, want exactly 1", wins)
	}
}

func testChallenges(t *testing.T, s store.Store) {
	c := store.Challenge{ID: "c1", Host: "h1", Group: "prod", Request: []byte(`{"ek":"..."}`),
		SecretHash: []byte{9, 8, 7}, ExpiresAt: at(time.Minute)}
	if err := s.PutChallenge(ctx(t), c); err != nil {
		t.Fatalf("PutChallenge: %v", err)
	}
	wantErr(t, "PutChallenge(same id)", s.PutChallenge(ctx(t), c), store.ErrConflict)
	got, err := s.TakeChallenge(ctx(t), "c1", t0)
	if err != nil {
		t.Fatalf("TakeChallenge: %v", err)
	}
	if d := diff(c, got); d != "" {
		t.Errorf("TakeChallenge (-want +got):\n%s", d)
	}
	_, err = s.TakeChallenge(ctx(t), "c1", t0)
	wantErr(t, "TakeChallenge(taken)", err, store.ErrNotFound)
	c.ID = "c2"
	if err := s.PutChallenge(ctx(t), c); err != nil {
		t.Fatalf("PutChallenge: %v", err)
	}
	_, err = s.TakeChallenge(ctx(t), "c2", at(2*time.Minute))
	wantErr(t, "TakeChallenge(expired)", err, store.ErrNotFound)

	c.ID = "c3"
	if err := s.PutChallenge(ctx(t), c); err != nil {
		t.Fatalf("PutChallenge: %v", err)
	}
	errs := race(20, func(int) error { _, err := s.TakeChallenge(ctx(t), "c3", t0); return err })
	if wins := countNil(errs); wins != 1 {
		t.Errorf("20 racing TakeChallenge: %d won, want exactly 1", wins)
	}
}

func countNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

func testJoinTokens(t *testing.T, s store.Store) {
	fresh := store.JoinToken{ID: "jt1", SecretHash: []byte("hash1"), Group: "prod", Host: "esx-01",
		CreatedBy: "alice", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	stale := store.JoinToken{ID: "jt2", SecretHash: []byte("hash2"), Group: "lab",
		CreatedBy: "bob", CreatedAt: at(time.Minute), ExpiresAt: at(2 * time.Minute)}
	for _, jt := range []store.JoinToken{fresh, stale} {
		if err := s.CreateJoinToken(ctx(t), jt); err != nil {
			t.Fatalf("CreateJoinToken(%s): %v", jt.ID, err)
		}
	}
	wantErr(t, "CreateJoinToken(same id)", s.CreateJoinToken(ctx(t), fresh), store.ErrConflict)

	// Checking a token twice spends nothing.
	for range 2 {
		got, err := s.CheckJoinToken(ctx(t), "jt1", at(30*time.Minute))
		if err != nil {
			t.Fatalf("CheckJoinToken: %v", err)
		}
		if d := diff(fresh, got); d != "" {
			t.Errorf("CheckJoinToken (-want +got):\n%s", d)
		}
	}
	got, err := s.UseJoinToken(ctx(t), "jt1", "esx-01", at(30*time.Minute))
	if err != nil {
		t.Fatalf("UseJoinToken: %v", err)
	}
	used := fresh
	used.UsedAt, used.UsedBy = ptr(at(30*time.Minute)), "esx-01"
	if d := diff(used, got); d != "" {
		t.Errorf("UseJoinToken (-want +got):\n%s", d)
	}
	tests := []struct {
		id   string
		now  time.Time
		want error
	}{
		{"jt1", at(31 * time.Minute), store.ErrUsed},
		{"jt2", at(2 * time.Minute), store.ErrExpired},
		{"jt2", at(3 * time.Minute), store.ErrExpired},
		{"absent", t0, store.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := s.CheckJoinToken(ctx(t), tt.id, tt.now)
		wantErr(t, fmt.Sprintf("CheckJoinToken(%s at %s)", tt.id, tt.now), err, tt.want)
		_, err = s.UseJoinToken(ctx(t), tt.id, "intruder", tt.now)
		wantErr(t, fmt.Sprintf("UseJoinToken(%s at %s)", tt.id, tt.now), err, tt.want)
	}
	list, err := s.ListJoinTokens(ctx(t))
	if err != nil {
		t.Fatalf("ListJoinTokens: %v", err)
	}
	if d := diff([]store.JoinToken{stale, used}, list); d != "" {
		t.Errorf("ListJoinTokens, newest first (-want +got):\n%s", d)
	}
}

func testJoinTokenRace(t *testing.T, s store.Store) {
	if err := s.CreateJoinToken(ctx(t), store.JoinToken{ID: "jt", Group: "prod", CreatedAt: t0, ExpiresAt: at(time.Hour)}); err != nil {
		t.Fatalf("CreateJoinToken: %v", err)
	}
	errs := race(20, func(i int) error {
		_, err := s.UseJoinToken(ctx(t), "jt", fmt.Sprintf("host-%d", i), at(time.Minute))
		return err
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("UseJoinToken: both host-%d and host-%d won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrUsed):
			t.Errorf("losing UseJoinToken: error = %v, want ErrUsed", err)
		}
	}
	if winner < 0 {
		t.Fatalf("20 racing UseJoinToken: none won")
	}
	list, err := s.ListJoinTokens(ctx(t))
	if err != nil || len(list) != 1 {
		t.Fatalf("ListJoinTokens = %v, %v", list, err)
	}
	if want := fmt.Sprintf("host-%d", winner); list[0].UsedBy != want {
		t.Errorf("token used by %q, want the winner %q", list[0].UsedBy, want)
	}
}

func testAPITokens(t *testing.T, s store.Store) {
	a := store.APIToken{ID: "tok-a", Name: "ci", SecretHash: []byte("ha"), Role: store.RoleOperator, CreatedAt: t0}
	b := store.APIToken{ID: "tok-b", Name: "grafana", SecretHash: []byte("hb"), Role: store.RoleViewer, CreatedAt: at(time.Minute)}
	for _, tok := range []store.APIToken{b, a} {
		if err := s.CreateAPIToken(ctx(t), tok); err != nil {
			t.Fatalf("CreateAPIToken(%s): %v", tok.ID, err)
		}
	}
	wantErr(t, "CreateAPIToken(same id)", s.CreateAPIToken(ctx(t), a), store.ErrConflict)
	got, err := s.GetAPIToken(ctx(t), "tok-a")
	if err != nil {
		t.Fatalf("GetAPIToken: %v", err)
	}
	if d := diff(a, got); d != "" {
		t.Errorf("GetAPIToken (-want +got):\n%s", d)
	}
	_, err = s.GetAPIToken(ctx(t), "absent")
	wantErr(t, "GetAPIToken(absent)", err, store.ErrNotFound)

	if err := s.RevokeAPIToken(ctx(t), "tok-b", at(time.Hour)); err != nil {
		t.Fatalf("RevokeAPIToken: %v", err)
	}
	if err := s.RevokeAPIToken(ctx(t), "tok-b", at(2*time.Hour)); err != nil {
		t.Fatalf("RevokeAPIToken again: %v", err)
	}
	wantErr(t, "RevokeAPIToken(absent)", s.RevokeAPIToken(ctx(t), "absent", t0), store.ErrNotFound)
	b.RevokedAt = ptr(at(time.Hour)) // the first revocation stands
	list, err := s.ListAPITokens(ctx(t))
	if err != nil {
		t.Fatalf("ListAPITokens: %v", err)
	}
	if d := diff([]store.APIToken{a, b}, list); d != "" {
		t.Errorf("ListAPITokens, oldest first (-want +got):\n%s", d)
	}
}

func testAudit(t *testing.T, s store.Store) {
	for i := range 5 {
		e := store.AuditEntry{At: at(time.Duration(i) * time.Second), Actor: "alice", Action: "host.delete",
			Target: fmt.Sprintf("h%d", i), Detail: "because"}
		if err := s.AppendAudit(ctx(t), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	page, total, err := s.ListAudit(ctx(t), 2, 1)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if total != 5 {
		t.Errorf("ListAudit total = %d, want 5", total)
	}
	if len(page) != 2 || page[0].Target != "h3" || page[1].Target != "h2" {
		t.Fatalf("ListAudit(2, 1) = %+v, want h3 then h2", page)
	}
	if page[0].ID <= page[1].ID {
		t.Errorf("audit IDs %d, %d: want newer entries to have larger IDs", page[0].ID, page[1].ID)
	}
	want := store.AuditEntry{ID: page[0].ID, At: at(3 * time.Second), Actor: "alice", Action: "host.delete", Target: "h3", Detail: "because"}
	if d := diff(want, page[0]); d != "" {
		t.Errorf("audit entry (-want +got):\n%s", d)
	}
	all, _, err := s.ListAudit(ctx(t), 0, 0)
	if err != nil || len(all) != 5 {
		t.Errorf("ListAudit(no limit) = %d entries, %v; want 5", len(all), err)
	}
}
