package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// TestVerifyValidity checks the span VerifyValidity returns against what
// Verify says at its ends and just outside them, for a plain chain, a chain
// with a shorter-lived intermediate and a cross-signed intermediate that
// gives two chains of different lifetimes.
func TestVerifyValidity(t *testing.T) {
	vendor := mustKeys(t, "VMware", 1)
	partner := mustKeys(t, "Partner", 2)
	d := testDescriptor(t)
	r := detRand(5)
	interKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	leafKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	issue := func(s CertSpec, pub ed25519.PublicKey, parent *x509.Certificate, parentKey ed25519.PrivateKey) *x509.Certificate {
		t.Helper()
		c, err := Issue(s, pub, parent, parentKey, r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	inter := CertSpec{CommonName: "Intermediate CA", CA: true}
	// The same intermediate key certified by the vendor for its first year
	// and by the partner from its sixth month to its third year.
	interA := inter
	interA.NotBefore, interA.NotAfter = t0, t0.AddDate(1, 0, 0)
	interB := inter
	interB.NotBefore, interB.NotAfter = t0.AddDate(0, 6, 0), t0.AddDate(3, 0, 0)
	byVendor := issue(interA, interKey.Public().(ed25519.PublicKey), vendor.Root, vendor.RootKey)
	byPartner := issue(interB, interKey.Public().(ed25519.PublicKey), partner.Root, partner.RootKey)
	leaf := issue(CertSpec{CommonName: "leaf", CodeSigning: true, NotBefore: t0, NotAfter: t0.AddDate(5, 0, 0)},
		leafKey.Public().(ed25519.PublicKey), byVendor, interKey)

	tenYears := t0.Add(10 * 365 * 24 * time.Hour)
	tests := []struct {
		name   string
		signer *Signer
		roots  []*x509.Certificate
		at     time.Time
		want   Validity
		// exact: Verify fails just outside the span. Not so when a chain
		// that is invalid at the time asked becomes valid later or was
		// earlier: the span is what is sure, not all there is.
		exact bool
	}{
		{"leaf and root", vendor.Signer, []*x509.Certificate{vendor.Root}, now, Validity{t0, tenYears}, true},
		{"shorter intermediate", &Signer{Key: leafKey, Chain: []*x509.Certificate{leaf, byVendor}},
			[]*x509.Certificate{vendor.Root}, t0.AddDate(0, 1, 0), Validity{t0, t0.AddDate(1, 0, 0)}, true},
		{"two chains joined", &Signer{Key: leafKey, Chain: []*x509.Certificate{leaf, byVendor, byPartner}},
			[]*x509.Certificate{vendor.Root, partner.Root}, t0.AddDate(0, 8, 0), Validity{t0, t0.AddDate(3, 0, 0)}, true},
		{"one chain of two trusted", &Signer{Key: leafKey, Chain: []*x509.Certificate{leaf, byVendor, byPartner}},
			[]*x509.Certificate{vendor.Root, partner.Root}, t0.AddDate(2, 0, 0), Validity{t0.AddDate(0, 6, 0), t0.AddDate(3, 0, 0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := signUnchecked(d, tt.signer)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.VerifyValidity(tt.roots, tt.at)
			if err != nil {
				t.Fatalf("VerifyValidity at %s: %v", tt.at, err)
			}
			if !got.NotBefore.Equal(tt.want.NotBefore) || !got.NotAfter.Equal(tt.want.NotAfter) {
				t.Errorf("VerifyValidity = %v to %v, want %v to %v", got.NotBefore, got.NotAfter, tt.want.NotBefore, tt.want.NotAfter)
			}
			// Verify holds throughout the span, checked at its ends, and,
			// where the span is exact, fails just outside.
			for _, at := range []time.Time{got.NotBefore, got.NotAfter, tt.at} {
				if err := b.Verify(tt.roots, at); err != nil {
					t.Errorf("Verify at %s, inside %v to %v: %v", at, got.NotBefore, got.NotAfter, err)
				}
			}
			if !tt.exact {
				return
			}
			for _, at := range []time.Time{got.NotBefore.Add(-time.Second), got.NotAfter.Add(time.Second)} {
				if err := b.Verify(tt.roots, at); !errors.Is(err, ErrExpired) {
					t.Errorf("Verify at %s, outside %v to %v = %v, want ErrExpired", at, got.NotBefore, got.NotAfter, err)
				}
			}
		})
	}
}

// TestVerifyValidityFailures: on every failure VerifyValidity gives Verify's
// error and no span.
func TestVerifyValidityFailures(t *testing.T) {
	vendor := mustKeys(t, "VMware", 1)
	other := mustKeys(t, "Rogue", 9)
	raw := mustSign(t, testDescriptor(t), vendor.Signer)
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		roots []*x509.Certificate
		at    time.Time
	}{
		{"untrusted", []*x509.Certificate{other.Root}, now},
		{"no roots", nil, now},
		{"expired", []*x509.Certificate{vendor.Root}, t0.AddDate(11, 0, 0)},
		{"not yet valid", []*x509.Certificate{vendor.Root}, t0.AddDate(-1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := b.VerifyValidity(tt.roots, tt.at)
			want := b.Verify(tt.roots, tt.at)
			if err == nil || want == nil || err.Error() != want.Error() {
				t.Errorf("VerifyValidity = %v, Verify = %v; want the same error", err, want)
			}
			if v != (Validity{}) {
				t.Errorf("VerifyValidity gave a span %v with an error", v)
			}
		})
	}
}
