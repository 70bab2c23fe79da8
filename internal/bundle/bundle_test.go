package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	t0  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// detRand is a deterministic byte source, so test keys are the same each run.
func detRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

func mustKeys(t testing.TB, vendor string, seed uint64) *Keys {
	t.Helper()
	k, err := Keygen(KeygenOptions{Vendor: vendor, NotBefore: t0, Validity: 10 * 365 * 24 * time.Hour, Rand: detRand(seed)})
	if err != nil {
		t.Fatalf("Keygen(%s): %v", vendor, err)
	}
	return k
}

func testDescriptor(t testing.TB) Descriptor {
	t.Helper()
	b, err := os.ReadFile("testdata/esx-base.descriptor.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDescriptor(b)
	if err != nil {
		t.Fatalf("ParseDescriptor(testdata): %v", err)
	}
	return *d
}

func mustSign(t testing.TB, d Descriptor, s *Signer) []byte {
	t.Helper()
	b, err := Sign(d, s)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return b
}

func TestSignParseVerifyRoundTrip(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	d := testDescriptor(t)
	raw := mustSign(t, d, k.Signer)
	b, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := b.Verify([]*x509.Certificate{k.Root}, now); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if b.Descriptor.Name != "esx-base" || b.Descriptor.Acceptance != Certified || b.SignerName() != "VMware Code Signing" {
		t.Errorf("parsed %+v signer %q", b.Descriptor, b.SignerName())
	}
	// Ed25519 and seeded keys: the same inputs give the same file.
	if again := mustSign(t, d, mustKeys(t, "VMware", 1).Signer); !bytes.Equal(raw, again) {
		t.Errorf("signing twice with the same seeded keys gave different files")
	}
	// Re-indenting the envelope keeps the signature valid.
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	compact, _ := json.Marshal(env)
	b2, err := Parse(compact)
	if err != nil {
		t.Fatalf("Parse(compact): %v", err)
	}
	if err := b2.Verify([]*x509.Certificate{k.Root}, now); err != nil {
		t.Errorf("Verify(compact): %v", err)
	}
}

func TestSignECDSA(t *testing.T) {
	k := mustKeys(t, "Partner Inc", 2)
	key, err := NewECDSAKey()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Issue(CertSpec{CommonName: "Partner ECDSA", CodeSigning: true, NotBefore: t0, NotAfter: t0.AddDate(5, 0, 0)},
		key.Public(), k.Root, k.RootKey, detRand(3))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(mustSign(t, testDescriptor(t), &Signer{Key: key, Chain: []*x509.Certificate{leaf}}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if b.Alg != AlgECDSAP256SHA256 {
		t.Errorf("alg %q", b.Alg)
	}
	if err := b.Verify([]*x509.Certificate{k.Root}, now); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	vendor := mustKeys(t, "VMware", 1)
	other := mustKeys(t, "Rogue", 9)
	d := testDescriptor(t)
	r := detRand(4)
	leafKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	issue := func(s CertSpec, parent *x509.Certificate, parentKey ed25519.PrivateKey) *x509.Certificate {
		c, err := Issue(s, leafKey.Public(), parent, parentKey, r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	valid := CertSpec{CommonName: "leaf", CodeSigning: true, NotBefore: t0, NotAfter: t0.AddDate(5, 0, 0)}
	serverOnly := CertSpec{CommonName: "tls leaf", ServerAuth: true, NotBefore: t0, NotAfter: t0.AddDate(5, 0, 0)}
	expired := CertSpec{CommonName: "old leaf", CodeSigning: true, NotBefore: t0, NotAfter: t0.AddDate(0, 1, 0)}

	// An intermediate CA that expired while the root and leaf are valid.
	interKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	inter, err := Issue(CertSpec{CommonName: "expired intermediate", CA: true, NotBefore: t0, NotAfter: t0.AddDate(0, 2, 0)},
		interKey.Public(), vendor.Root, vendor.RootKey, r)
	if err != nil {
		t.Fatal(err)
	}
	underInter := issue(valid, inter, interKey)

	// A descriptor signed by the vendor's key, with the chain of another
	// certificate: the wrong signer.
	wrongSigner := &Signer{Key: vendor.Signer.Key, Chain: other.Signer.Chain}

	tests := []struct {
		name    string
		signer  *Signer
		roots   []*x509.Certificate
		at      time.Time
		want    error
		wantMsg string
	}{
		{"good", vendor.Signer, []*x509.Certificate{vendor.Root}, now, nil, ""},
		{"good among several roots", vendor.Signer, []*x509.Certificate{other.Root, vendor.Root}, now, nil, ""},
		{"root of another vendor", vendor.Signer, []*x509.Certificate{other.Root}, now, ErrUntrustedChain, `leaf "VMware Code Signing" issued by "VMware Root CA"`},
		{"self-made chain", other.Signer, []*x509.Certificate{vendor.Root}, now, ErrUntrustedChain, "Rogue Code Signing"},
		{"leaf expired", &Signer{Key: leafKey, Chain: []*x509.Certificate{issue(expired, vendor.Root, vendor.RootKey)}}, []*x509.Certificate{vendor.Root}, now, ErrExpired, `"old leaf"`},
		{"root expired", vendor.Signer, []*x509.Certificate{vendor.Root}, t0.AddDate(11, 0, 0), ErrExpired, "VMware"},
		{"not yet valid", vendor.Signer, []*x509.Certificate{vendor.Root}, t0.AddDate(-1, 0, 0), ErrExpired, "VMware"},
		{"intermediate expired", &Signer{Key: leafKey, Chain: []*x509.Certificate{underInter, inter}}, []*x509.Certificate{vendor.Root}, now, ErrExpired, `"expired intermediate"`},
		{"intermediate valid", &Signer{Key: leafKey, Chain: []*x509.Certificate{underInter, inter}}, []*x509.Certificate{vendor.Root}, t0.AddDate(0, 1, 0), nil, ""},
		{"not code signing", &Signer{Key: leafKey, Chain: []*x509.Certificate{issue(serverOnly, vendor.Root, vendor.RootKey)}}, []*x509.Certificate{vendor.Root}, now, ErrNotCodeSigning, `"tls leaf": extKeyUsage lacks codeSigning`},
		{"wrong signer", wrongSigner, []*x509.Certificate{vendor.Root, other.Root}, now, ErrBadSignature, `not signed by leaf "Rogue Code Signing"`},
		{"no roots", vendor.Signer, nil, now, ErrUntrustedChain, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := signUnchecked(d, tt.signer)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = b.Verify(tt.roots, tt.at)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// signUnchecked signs like Sign but lets the key and certificate differ, to
// make wrong-signer bundles.
func signUnchecked(d Descriptor, s *Signer) ([]byte, error) {
	if samePublicKey(s.Key.Public(), s.Chain[0].PublicKey) {
		return Sign(d, s)
	}
	desc, _ := d.Canonical()
	env := Envelope{Format: Format, Descriptor: desc, Alg: AlgEd25519,
		Signature: ed25519.Sign(s.Key.(ed25519.PrivateKey), append([]byte(signedPrefix), desc...))}
	for _, c := range s.Chain {
		env.Chain = append(env.Chain, c.Raw)
	}
	return json.Marshal(env)
}

func TestTamperedDescriptor(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	raw := mustSign(t, testDescriptor(t), k.Signer)
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	env.Descriptor = bytes.Replace(env.Descriptor, []byte(`"certified"`), []byte(`"community"`), 1)
	tampered, _ := json.Marshal(env)
	b, err := Parse(tampered)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if b.Descriptor.Acceptance != Community {
		t.Fatalf("tamper did not take: %v", b.Descriptor.Acceptance)
	}
	if err := b.Verify([]*x509.Certificate{k.Root}, now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(tampered) = %v, want ErrBadSignature", err)
	}
}

func TestSignRejects(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	other := mustKeys(t, "Other", 2)
	d := testDescriptor(t)
	bad := d
	bad.Payloads = nil
	tests := []struct {
		name string
		d    Descriptor
		s    *Signer
		want string
	}{
		{"no payloads", bad, k.Signer, "at least one payload"},
		{"no signer", d, nil, "no key"},
		{"key and cert differ", d, &Signer{Key: k.Signer.Key, Chain: other.Signer.Chain}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.d, tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Sign = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestKeysFilesRoundTrip(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	files, err := k.Files()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeys(files)
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	if !k2.Root.Equal(k.Root) || !k2.Signer.Chain[0].Equal(k.Signer.Chain[0]) || !k2.RootKey.Equal(k.RootKey) {
		t.Errorf("keys differ after a round trip through PEM")
	}
	if _, err := LoadSigner(files[SigningCertFile], files[RootKeyFile], nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("LoadSigner(leaf cert, root key) = %v, want mismatch", err)
	}
	if _, err := ParseCertificatesPEM(files[SigningKeyFile]); err == nil || !strings.Contains(err.Error(), `type "PRIVATE KEY"`) {
		t.Errorf("ParseCertificatesPEM(key) = %v", err)
	}
}
