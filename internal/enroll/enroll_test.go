package enroll_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/google/go-tpm/tpm2"
)

// simHost is what an emulated host hands the verifier at enrolment.
type simHost struct {
	ekPub, ekCert []byte
	ak            *tpm.AK
	dev           *tpm.Device
}

// openHost opens the reference TPM with seed, provisions an EK certificate
// from ca (the manufacturer step) and creates an AK. The Device stays open
// until the test ends.
func openHost(t *testing.T, seed int64, ca *makerca.CA) *simHost {
	t.Helper()
	d, err := tpm.OpenSimulator(seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	h := &simHost{dev: d}
	h.ekPub, _, err = d.EK()
	if err != nil {
		t.Fatal(err)
	}
	if ca != nil {
		p, _ := tpm2.Unmarshal[tpm2.TPMTPublic](h.ekPub)
		key, _ := tpm2.Pub(*p)
		der, err := ca.IssueEKCert(key, "host")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ProvisionEKCert(der); err != nil {
			t.Fatal(err)
		}
		if _, h.ekCert, err = d.EK(); err != nil {
			t.Fatal(err)
		}
	}
	if h.ak, err = d.CreateAK(); err != nil {
		t.Fatal(err)
	}
	return h
}

func caStore(t *testing.T, ca *makerca.CA) *enroll.TrustStore {
	t.Helper()
	ts := enroll.NewTrustStore()
	if err := ts.AddAnchor(ca.Certificate(), "makerca.crt"); err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestEnrolmentRoundTrip is the whole enrolment as the verifier sees it:
// EK certificate read from the TPM's NV, verified against the maker CA;
// challenge made in software for the AK; the TPM's answer is the secret.
func TestEnrolmentRoundTrip(t *testing.T) {
	ca, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := openHost(t, 100, ca)
	now := time.Now()
	if err := enroll.VerifyEKCert(h.ekCert, h.ekPub, caStore(t, ca), now); err != nil {
		t.Fatalf("VerifyEKCert: %v", err)
	}
	info, err := enroll.ParseEKCert(h.ekCert)
	if err != nil {
		t.Fatal(err)
	}
	if info.TPM != (enroll.TPMInfo(makerca.ReferenceTPM)) {
		t.Errorf("EK certificate TPM attributes %+v, want %+v", info.TPM, makerca.ReferenceTPM)
	}
	secret, blob, enc, err := enroll.MakeChallenge(h.ekPub, h.ak.Public(), rand.Reader)
	if err != nil {
		t.Fatalf("MakeChallenge: %v", err)
	}
	answer, err := h.dev.ActivateCredential(h.ak, blob, enc)
	if err != nil {
		t.Fatalf("ActivateCredential: %v", err)
	}
	if err := enroll.VerifyActivation(secret, answer); err != nil {
		t.Errorf("VerifyActivation: %v", err)
	}
	if err := enroll.VerifyActivation(secret, append(bytes.Clone(answer[1:]), 0)); !errors.Is(err, enroll.ErrActivation) {
		t.Errorf("VerifyActivation of a wrong answer = %v, want ErrActivation", err)
	}
}

// TestEKCertRefusals: the verifier refuses an EK certificate of an unknown
// maker, one for another EK, one not valid now, and garbage.
func TestEKCertRefusals(t *testing.T) {
	ca, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The EK of seed 101, then the host of seed 102 (one simulator at a time).
	var ek101 []byte
	func() {
		d, err := tpm.OpenSimulator(101)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ek101, _, err = d.EK()
		if err != nil {
			t.Fatal(err)
		}
	}()
	h := openHost(t, 102, ca)
	now := time.Now()
	tests := []struct {
		name    string
		cert    []byte
		ekPub   []byte
		trust   *enroll.TrustStore
		now     time.Time
		wantErr error
	}{
		{"unknown maker CA", h.ekCert, h.ekPub, caStore(t, other), now, enroll.ErrUntrustedCA},
		{"empty trust store", h.ekCert, h.ekPub, enroll.NewTrustStore(), now, enroll.ErrUntrustedCA},
		{"certificate of another EK", h.ekCert, ek101, caStore(t, ca), now, enroll.ErrKeyMismatch},
		{"before the certificate's validity", h.ekCert, h.ekPub, caStore(t, ca), now.AddDate(-1, 0, 0), enroll.ErrExpired},
		{"garbage certificate", []byte("not a certificate"), h.ekPub, caStore(t, ca), now, enroll.ErrMalformed},
		{"garbage ek", h.ekCert, []byte{0, 1, 2}, caStore(t, ca), now, enroll.ErrMalformed},
		{"the CA's own certificate", ca.Certificate().Raw, h.ekPub, caStore(t, ca), now, enroll.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := enroll.VerifyEKCert(tt.cert, tt.ekPub, tt.trust, tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyEKCert = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// The same certificate against the real maker roots: unknown CA.
	if dir := findShared("tpm-ek-roots"); dir != "" {
		real, err := enroll.LoadTrustStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := enroll.VerifyEKCert(h.ekCert, h.ekPub, real, now); !errors.Is(err, enroll.ErrUntrustedCA) {
			t.Errorf("VerifyEKCert against the real maker roots = %v, want ErrUntrustedCA", err)
		}
	}
}

// TestForgedIntermediate: a CA that copies a real maker CA's name but has
// its own key is refused: links need the signature, not only the name.
func TestForgedIntermediate(t *testing.T) {
	ca, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ts := caStore(t, ca)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: ca.Certificate().SerialNumber, Subject: ca.Certificate().Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	forged, _ := x509.ParseCertificate(der)
	ekKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: tmpl.SerialNumber, NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter,
	}, forged, ekKey.Public(), key)
	leaf, _ := x509.ParseCertificate(leafDER)
	if _, err := ts.Chain(leaf, leaf.NotBefore); !errors.Is(err, enroll.ErrUntrustedCA) {
		t.Errorf("Chain of a certificate signed by a look-alike CA = %v, want ErrUntrustedCA", err)
	}
}

// TestAKNotInTheEKsTPM: an AK that is not a restricted TPM-resident key is
// refused before any challenge; a challenge built for another TPM's EK
// cannot be answered by this TPM.
func TestAKNotInTheEKsTPM(t *testing.T) {
	var ekOther []byte
	func() {
		d, err := tpm.OpenSimulator(103)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if ekOther, _, err = d.EK(); err != nil {
			t.Fatal(err)
		}
	}()
	h := openHost(t, 104, nil)

	// A challenge for this AK but another TPM's EK.
	_, blob, enc, err := enroll.MakeChallenge(ekOther, h.ak.Public(), rand.Reader)
	if err != nil {
		t.Fatalf("MakeChallenge: %v", err)
	}
	if _, err := h.dev.ActivateCredential(h.ak, blob, enc); err == nil {
		t.Error("ActivateCredential of a challenge for another TPM's EK = nil error, want error")
	}

	// AKs the verifier must refuse outright.
	akPub, _ := tpm2.Unmarshal[tpm2.TPMTPublic](h.ak.Public())
	mutate := func(f func(a *tpm2.TPMAObject)) []byte {
		p := *akPub
		f(&p.ObjectAttributes)
		return tpm2.Marshal(p)
	}
	tests := []struct {
		name  string
		akPub []byte
	}{
		{"software key (not fixedTPM)", mutate(func(a *tpm2.TPMAObject) { a.FixedTPM = false })},
		{"duplicable (not fixedParent)", mutate(func(a *tpm2.TPMAObject) { a.FixedParent = false })},
		{"imported (not sensitiveDataOrigin)", mutate(func(a *tpm2.TPMAObject) { a.SensitiveDataOrigin = false })},
		{"unrestricted signing key", mutate(func(a *tpm2.TPMAObject) { a.Restricted = false })},
		{"storage key", mutate(func(a *tpm2.TPMAObject) { a.SignEncrypt = false; a.Decrypt = true })},
		{"the EK itself", h.ekPub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := enroll.MakeChallenge(h.ekPub, tt.akPub, rand.Reader)
			if !errors.Is(err, enroll.ErrBadAK) {
				t.Errorf("MakeChallenge = %v, want ErrBadAK", err)
			}
		})
	}
	if _, _, _, err := enroll.MakeChallenge(h.ak.Public(), h.ak.Public(), rand.Reader); !errors.Is(err, enroll.ErrBadEK) {
		t.Errorf("MakeChallenge with the AK as EK = %v, want ErrBadEK", err)
	}
}

func TestPinnedEK(t *testing.T) {
	h := openHost(t, 105, nil)
	pin, err := enroll.PinEK(h.ekPub)
	if err != nil {
		t.Fatal(err)
	}
	// The pin is the SHA-256 of the key's SubjectPublicKeyInfo, so it can be
	// computed from a certificate as well.
	p, _ := tpm2.Unmarshal[tpm2.TPMTPublic](h.ekPub)
	key, _ := tpm2.Pub(*p)
	spki, _ := x509.MarshalPKIXPublicKey(key)
	if want := sha256.Sum256(spki); enroll.PinnedEK(want) != pin {
		t.Errorf("PinEK = %s, want the SHA-256 of the EK's SubjectPublicKeyInfo", pin)
	}
	back, err := enroll.ParsePinnedEK(pin.String())
	if err != nil || back != pin {
		t.Fatalf("ParsePinnedEK(%s) = %v, %v", pin, back, err)
	}
	if _, err := enroll.ParsePinnedEK("sha256:abcd"); err == nil {
		t.Error("ParsePinnedEK of a short hash = nil error, want error")
	}
	now := time.Now()
	if err := enroll.VerifyEK(h.ekPub, nil, nil, []enroll.PinnedEK{pin}, now); err != nil {
		t.Errorf("VerifyEK of a pinned EK without certificate: %v", err)
	}
	if err := enroll.VerifyEK(h.ekPub, nil, nil, []enroll.PinnedEK{{1}}, now); !errors.Is(err, enroll.ErrNotPinned) {
		t.Errorf("VerifyEK of an unpinned EK without certificate = %v, want ErrNotPinned", err)
	}
}

// TestEKCertCriticalSANQuirk shows why VerifyEKCert builds chains itself:
// crypto/x509's Verify refuses a profile-conformant EK certificate (empty
// subject, critical SAN holding only a directoryName), which VerifyEKCert
// accepts; another unknown critical extension is still refused.
func TestEKCertCriticalSANQuirk(t *testing.T) {
	ca, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := openHost(t, 106, ca)
	c, err := x509.ParseCertificate(h.ekCert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	_, err = c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var unhandled x509.UnhandledCriticalExtension
	if !errors.As(err, &unhandled) {
		t.Errorf("crypto/x509 Verify of the EK certificate = %v, want UnhandledCriticalExtension (the quirk)", err)
	}
	if err := enroll.VerifyEKCert(h.ekCert, h.ekPub, caStore(t, ca), time.Now()); err != nil {
		t.Errorf("VerifyEKCert: %v", err)
	}
}
