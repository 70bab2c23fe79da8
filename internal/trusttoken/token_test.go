package trusttoken

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func newSigner(t *testing.T) *Signer {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueVerify(t *testing.T) {
	s, other := newSigner(t), newSigner(t)
	now := time.Unix(1_800_000_000, 0)
	c := Claims{Issuer: "v1", Subject: "esx-01", Status: "Passed", IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix()}
	tok, err := s.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeys(s.PublicPEM())
	if err != nil {
		t.Fatal(err)
	}
	tamperedClaims := func() string {
		p := strings.Split(tok, ".")
		forged := c
		forged.Status = "Passed"
		forged.Subject = "esx-02"
		s2, _ := other.Issue(forged)
		return p[0] + "." + strings.Split(s2, ".")[1] + "." + p[2]
	}()
	tests := []struct {
		name    string
		token   string
		keys    int // 0: s's key, 1: other's key
		want    Expectations
		wantErr error
	}{
		{"valid", tok, 0, Expectations{Issuer: "v1", Now: now.Add(time.Minute)}, nil},
		{"expired", tok, 0, Expectations{Issuer: "v1", Now: now.Add(6 * time.Minute)}, ErrExpired},
		{"not yet", tok, 0, Expectations{Issuer: "v1", Now: now.Add(-time.Hour)}, ErrNotYet},
		{"other issuer", tok, 0, Expectations{Issuer: "v2", Now: now}, ErrIssuer},
		{"other verifier's key", tok, 1, Expectations{Issuer: "v1", Now: now}, ErrSignature},
		{"claims swapped", tamperedClaims, 0, Expectations{Issuer: "v1", Now: now}, ErrSignature},
		{"garbage", "a.b", 0, Expectations{Now: now}, ErrMalformed},
		{"alg none", b64.EncodeToString([]byte(`{"alg":"none"}`)) + ".e30.", 0, Expectations{Now: now}, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keys
			if tt.keys == 1 {
				k = []*ecdsaKey{other.Public()}
			}
			got, err := Verify(tt.token, k, tt.want)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (got.Subject != "esx-01" || got.Status != "Passed") {
				t.Errorf("claims = %+v", got)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	s, _ := NewSigner(mustKey(f))
	tok, _ := s.Issue(Claims{Subject: "h", Expiry: 1 << 40})
	f.Add(tok)
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		_, _ = Verify(tok, []*ecdsaKey{s.Public()}, Expectations{Now: time.Unix(0, 0)})
	})
}

func mustKey(f *testing.F) []byte {
	k, err := NewKey()
	if err != nil {
		f.Fatal(err)
	}
	return k
}
