package enroll_test

import (
	"bytes"
	"crypto/rand"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/google/go-tpm/tpm2"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the TPM simulator")

// The fuzz seeds: an EK public area, an AK public area and an EK
// certificate made by the reference TPM (seed 7) and a maker CA, written by
// go test -run TestTestdata -update.
const (
	ekPubFile  = "testdata/sim-seed7-ek.tpmt_public"
	akPubFile  = "testdata/sim-seed7-ak.tpmt_public"
	ekCertFile = "testdata/sim-seed7-ek-cert.der"
	caCertFile = "testdata/makerca.crt"
)

func TestTestdata(t *testing.T) {
	if !*update {
		for _, f := range []string{ekPubFile, akPubFile, ekCertFile, caCertFile} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s missing; run go test -run TestTestdata -update: %v", f, err)
			}
		}
		// The stored files still pass the checks.
		ekPub, akPub, cert := readFile(t, ekPubFile), readFile(t, akPubFile), readFile(t, ekCertFile)
		certs, err := enroll.ParseCertificates(readFile(t, caCertFile))
		if err != nil {
			t.Fatal(err)
		}
		ts := enroll.NewTrustStore()
		ts.AddAnchor(certs[0], caCertFile)
		if err := enroll.VerifyEKCert(cert, ekPub, ts, time.Now()); err != nil {
			t.Errorf("stored EK certificate: %v", err)
		}
		if _, _, _, err := enroll.MakeChallenge(ekPub, akPub, rand.Reader); err != nil {
			t.Errorf("stored EK and AK: %v", err)
		}
		return
	}
	dir := t.TempDir()
	ca, err := makerca.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tpm.OpenSimulator(7)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ekPub, _, err := d.EK()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
	key, _ := tpm2.Pub(*p)
	cert, err := ca.IssueEKCert(key, "seed7")
	if err != nil {
		t.Fatal(err)
	}
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	for f, b := range map[string][]byte{ekPubFile: ekPub, akPubFile: ak.Public(), ekCertFile: cert, caCertFile: ca.CertPEM()} {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

func FuzzParsePublic(f *testing.F) {
	f.Add(readFile(f, ekPubFile))
	f.Add(readFile(f, akPubFile))
	f.Add([]byte{0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := enroll.ParsePublic(b)
		if err == nil && !bytes.Equal(tpm2.Marshal(p), b) {
			t.Errorf("ParsePublic accepted %x, which does not re-marshal to itself", b)
		}
	})
}

// FuzzMakeChallenge feeds host-supplied EK and AK public areas; it must
// never panic, and must refuse any AK that CheckAK refuses.
func FuzzMakeChallenge(f *testing.F) {
	ek, ak := readFile(f, ekPubFile), readFile(f, akPubFile)
	f.Add(ek, ak)
	f.Add(ak, ek)
	f.Add(ek, []byte{})
	f.Fuzz(func(t *testing.T, ekPub, akPub []byte) {
		secret, blob, enc, err := enroll.MakeChallenge(ekPub, akPub, rand.Reader)
		if err != nil {
			return
		}
		p, perr := enroll.ParsePublic(akPub)
		if perr != nil || enroll.CheckAK(p) != nil {
			t.Errorf("MakeChallenge accepted an AK that ParsePublic/CheckAK refuse")
		}
		if len(secret) != enroll.SecretSize || len(blob) == 0 || len(enc) == 0 {
			t.Errorf("MakeChallenge returned secret %d, blob %d, enc %d bytes", len(secret), len(blob), len(enc))
		}
	})
}

func FuzzVerifyEKCert(f *testing.F) {
	certs, err := enroll.ParseCertificates(readFile(f, caCertFile))
	if err != nil {
		f.Fatal(err)
	}
	ts := enroll.NewTrustStore()
	ts.AddAnchor(certs[0], caCertFile)
	if dir := findShared("tpm-ek-roots"); dir != "" {
		if real, err := enroll.LoadTrustStore(dir); err == nil {
			ts = real
			ts.AddAnchor(certs[0], caCertFile)
		}
	}
	ek := readFile(f, ekPubFile)
	f.Add(readFile(f, ekCertFile), ek)
	f.Add(certs[0].Raw, ek)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, ek)
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cert, ekPub []byte) {
		enroll.VerifyEKCert(cert, ekPub, ts, now)
	})
}

func FuzzParseCertificates(f *testing.F) {
	f.Add(readFile(f, caCertFile))
	f.Add(readFile(f, ekCertFile))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := enroll.ParseCertificates(b)
		if err == nil && len(certs) == 0 {
			t.Error("ParseCertificates returned no certificates and no error")
		}
	})
}
