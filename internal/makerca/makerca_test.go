package makerca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadOrCreatePersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatalf("LoadOrCreate (create): %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatalf("LoadOrCreate (load): %v", err)
	}
	if !bytes.Equal(ca.CertPEM(), again.CertPEM()) {
		t.Error("reloading the CA gave another certificate")
	}
	c := again.Certificate()
	if !c.IsCA || c.Subject.CommonName != Name {
		t.Errorf("CA certificate IsCA=%v CN=%q, want a CA named %q", c.IsCA, c.Subject.CommonName, Name)
	}
}

func TestLoadOrCreateRefusesBrokenDirs(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"key without certificate", map[string]string{KeyFile: "x"}},
		{"certificate without key", map[string]string{CertFile: "x"}},
		{"garbage in both", map[string]string{KeyFile: "not pem", CertFile: "not pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tt.files {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600)
			}
			if _, err := LoadOrCreate(dir); err == nil {
				t.Error("LoadOrCreate = nil error, want error")
			}
		})
	}
	// A certificate of another CA beside this key.
	a, b := t.TempDir(), t.TempDir()
	if _, err := LoadOrCreate(a); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(b); err != nil {
		t.Fatal(err)
	}
	cert, _ := os.ReadFile(filepath.Join(b, CertFile))
	os.WriteFile(filepath.Join(a, CertFile), cert, 0o644)
	if _, err := LoadOrCreate(a); err == nil {
		t.Error("LoadOrCreate with another CA's certificate = nil error, want error")
	}
}

// TestIssueEKCertProfile checks the certificate against the TCG EK
// Credential Profile points a verifier looks at.
func TestIssueEKCertProfile(t *testing.T) {
	ca, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name   string
		pub    any
		wantKU x509.KeyUsage
	}{
		{"rsa ek", &rsaKey.PublicKey, x509.KeyUsageKeyEncipherment},
		{"ecc ek", &ecKey.PublicKey, x509.KeyUsageKeyAgreement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := ca.IssueEKCert(tt.pub, "host-1")
			if err != nil {
				t.Fatalf("IssueEKCert: %v", err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("parse issued certificate: %v", err)
			}
			if len(c.RawSubject) != 2 { // an empty SEQUENCE
				t.Errorf("subject is %q, want empty", c.Subject)
			}
			if err := c.CheckSignatureFrom(ca.Certificate()); err != nil {
				t.Errorf("signature does not verify with the CA: %v", err)
			}
			if c.KeyUsage != tt.wantKU {
				t.Errorf("key usage %v, want %v", c.KeyUsage, tt.wantKU)
			}
			if diff := cmp.Diff([]asn1.ObjectIdentifier{OIDEKCertificateEKU}, c.UnknownExtKeyUsage); diff != "" {
				t.Errorf("EKU mismatch (-want +got):\n%s", diff)
			}
			if c.IsCA {
				t.Error("EK certificate says CA:true")
			}
			var san *pkix.Extension
			for i, e := range c.Extensions {
				if e.Id.Equal(oidSubjectAltName) {
					san = &c.Extensions[i]
				}
			}
			if san == nil || !san.Critical {
				t.Fatalf("SAN extension %v, want a critical SAN", san)
			}
			var gns []asn1.RawValue
			if _, err := asn1.Unmarshal(san.Value, &gns); err != nil || len(gns) != 1 || gns[0].Tag != 4 {
				t.Fatalf("SAN is not one directoryName: %v %+v", err, gns)
			}
			var rdns pkix.RDNSequence
			if _, err := asn1.Unmarshal(gns[0].Bytes, &rdns); err != nil {
				t.Fatalf("directoryName does not parse: %v", err)
			}
			got := map[string]string{}
			for _, rdn := range rdns {
				for _, atv := range rdn {
					got[atv.Type.String()] = atv.Value.(string)
				}
			}
			want := map[string]string{
				"2.23.133.2.1": ReferenceTPM.Manufacturer,
				"2.23.133.2.2": ReferenceTPM.Model,
				"2.23.133.2.3": ReferenceTPM.Version,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("TPM attributes mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ca.IssueEKCert(&rsaKey.PublicKey, ""); err == nil {
		t.Error("IssueEKCert with an empty serial = nil error, want error")
	}
	if _, err := ca.IssueEKCert("not a key", "x"); err == nil {
		t.Error("IssueEKCert with a string key = nil error, want error")
	}
}
