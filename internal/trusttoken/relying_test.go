package trusttoken_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/trusttoken"
)

func signer(t testing.TB) *trusttoken.Signer {
	t.Helper()
	k, err := trusttoken.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := trusttoken.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var now = time.Unix(1_800_000_000, 0)

func claims() trusttoken.Claims {
	return trusttoken.Claims{Issuer: "fleet-a", Subject: "esx-01", Audience: "scheduler", Status: "Passed",
		Group: "lab", Placement: "allow", IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(10 * time.Minute).Unix()}
}

// TestStandardJWS checks the token as a relying party with no bootproof
// code would: a compact JWS (RFC 7515) with alg ES256, the signature as
// R||S (RFC 7518 §3.4), verified with the key from the published PEM.
func TestStandardJWS(t *testing.T) {
	s := signer(t)
	tok, err := s.Issue(claims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	// The header's names are RFC 7515's, what a relying party reads.
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || strictJSON(hb, &hdr) != nil {
		t.Fatalf("header is not base64url JSON of alg, typ and kid: %v %s", err, hb)
	}
	if hdr.Alg != "ES256" || hdr.Typ != "JWT" || hdr.Kid == "" {
		t.Errorf("header = %+v", hdr)
	}
	block, _ := pem.Decode(s.PublicPEM())
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("published key is not a PEM PUBLIC KEY: %s", s.PublicPEM())
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature is not 64 bytes of base64url: %v, %d", err, len(sig))
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub.(*ecdsa.PublicKey), sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("signature does not verify with the published key")
	}
	// The payload, byte for byte: its names are RFC 7519's registered
	// claims (iss, sub, aud, iat, nbf, exp) and bootproof's own.
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if string(cb) != wantPayload {
		t.Errorf("payload = %s\nwant      %s", cb, wantPayload)
	}
	var c trusttoken.Claims
	if err := strictJSON(cb, &c); err != nil || c != claims() {
		t.Errorf("payload decodes to %+v (%v), want %+v", c, err, claims())
	}
}

// wantPayload is the JSON payload of claims().
const wantPayload = `{"iss":"fleet-a","sub":"esx-01","aud":"scheduler","iat":1800000000,"nbf":1800000000,` +
	`"exp":1800000600,"status":"Passed","group":"lab","placement":"allow"}`

// strictJSON decodes data into out, refusing fields out does not have.
func strictJSON(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}

// TestVerifyRefusals: every way a token must be refused, and that a refused
// token yields no claims a careless caller could act on.
func TestVerifyRefusals(t *testing.T) {
	s, rotated := signer(t), signer(t)
	keys, err := trusttoken.ParsePublicKeys(append(s.PublicPEM(), rotated.PublicPEM()...))
	if err != nil || len(keys) != 2 {
		t.Fatalf("two published keys: %d, %v", len(keys), err)
	}
	tok, _ := s.Issue(claims())
	byRotated, _ := rotated.Issue(claims())
	want := trusttoken.Expectations{Issuer: "fleet-a", Audience: "scheduler", Now: now.Add(time.Minute)}
	tests := []struct {
		name    string
		token   string
		keys    []*ecdsa.PublicKey
		want    trusttoken.Expectations
		wantErr error
	}{
		{"valid", tok, keys, want, nil},
		{"signed by the second published key", byRotated, keys, want, nil},
		{"key no longer published", byRotated, keys[:1], want, trusttoken.ErrSignature},
		{"other audience", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Audience: "billing", Now: now}, trusttoken.ErrAudience},
		{"any audience", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Now: now}, nil},
		{"expired", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Now: now.Add(11 * time.Minute)}, trusttoken.ErrExpired},
		{"expired within leeway", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Now: now.Add(11 * time.Minute), Leeway: 2 * time.Minute}, nil},
		{"clock behind within leeway", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Now: now.Add(-30 * time.Second), Leeway: time.Minute}, nil},
		{"not yet valid", tok, keys, trusttoken.Expectations{Issuer: "fleet-a", Now: now.Add(-time.Hour)}, trusttoken.ErrNotYet},
		{"oversized", strings.Repeat("A", 9<<10), keys, want, trusttoken.ErrMalformed},
		{"signature cut", tok[:len(tok)-4], keys, want, trusttoken.ErrMalformed},
		{"four parts", tok + ".x", keys, want, trusttoken.ErrMalformed},
		{"empty", "", keys, want, trusttoken.ErrMalformed},
		{"no keys", tok, nil, want, trusttoken.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := trusttoken.Verify(tt.token, tt.keys, tt.want)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
			if err != nil && c != nil {
				t.Errorf("refused token returned claims %+v", c)
			}
			if err == nil && (c.Subject != "esx-01" || c.Status != "Passed" || c.Placement != "allow") {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePublicKeysRefuses(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	tests := []struct {
		name string
		pem  []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"RSA key", pemOf(t, "PUBLIC KEY", rsaDER)},
		{"Ed25519 key", pemOf(t, "PUBLIC KEY", edDER)},
		{"garbage DER", pemOf(t, "PUBLIC KEY", []byte{0x30, 0x03, 0x01})},
		{"P-384 key", pemOf(t, "PUBLIC KEY", p384DER)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := trusttoken.ParsePublicKeys(tt.pem)
			if err == nil {
				t.Errorf("ParsePublicKeys accepted it: %d keys", len(keys))
			}
		})
	}
}

func FuzzParsePublicKeys(f *testing.F) {
	f.Add(signer(f).PublicPEM())
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := trusttoken.ParsePublicKeys(b)
		if err == nil && len(keys) == 0 {
			t.Error("no error and no keys")
		}
	})
}
