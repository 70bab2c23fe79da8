package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	id, full, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	_, revokedFull, revokedHash, _ := NewToken()
	revokedID, _, _ := Split(revokedFull)
	recs := map[string]Record{
		id:        {Name: "ops", SecretHash: hash, Role: "operator"},
		revokedID: {Name: "old", SecretHash: revokedHash, Role: "admin", Revoked: true},
	}
	a := New(func(_ context.Context, id string) (Record, error) {
		r, ok := recs[id]
		if !ok {
			return Record{}, fmt.Errorf("token %s: %w", id, ErrUnknownToken)
		}
		return r, nil
	})
	tests := []struct {
		name    string
		token   string
		want    Role
		wantErr error
	}{
		{"valid", full, Operator, nil},
		{"empty", "", 0, ErrNoToken},
		{"wrong secret", full[:len(full)-2] + "xx", 0, ErrBadToken},
		{"unknown id", "bp_000000000000_" + full[len("bp_000000000000_"):], 0, ErrBadToken},
		{"revoked", revokedFull, 0, ErrRevoked},
		{"not ours", "Bearer abc", 0, ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if p.Role != tt.want {
				t.Errorf("role = %v, want %v", p.Role, tt.want)
			}
		})
	}
}

// TestAuthenticateStoreDown: a lookup that fails for another reason than
// "no such token" (the store is down) is not an invalid token: the caller
// gets an *UnavailableError, so that it answers 503 and keeps a browser
// signed in, and never ErrBadToken.
func TestAuthenticateStoreDown(t *testing.T) {
	_, full, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("dial tcp: connection refused")
	a := New(func(context.Context, string) (Record, error) { return Record{}, fmt.Errorf("get token: %w", down) })
	_, err = a.Authenticate(context.Background(), full)
	if !IsUnavailable(err) || errors.Is(err, ErrBadToken) || !errors.Is(err, down) {
		t.Fatalf("err = %v, want an *UnavailableError wrapping the store's error", err)
	}
}
