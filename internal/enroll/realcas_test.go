package enroll_test

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/enroll"
)

// realCA is one certificate of shared/tpm-ek-roots.
type realCA struct {
	file string
	cert *x509.Certificate
}

func loadRealCAs(t *testing.T) (string, []realCA) {
	t.Helper()
	dir := sharedDir(t, "tpm-ek-roots")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	var out []realCA
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := enroll.ParseCertificates(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, realCA{filepath.Base(f), certs[0]})
	}
	if len(out) == 0 {
		t.Skipf("no certificates in %s", dir)
	}
	return dir, out
}

// reachesRoot says, without enroll's code, whether following issuer names
// upward (compared as case-folded strings, the looseness the store's
// canonical comparison allows) from c reaches a self-signed certificate of
// the folder. That is the test's definition of "chains to a root there".
func reachesRoot(c *x509.Certificate, all []realCA) bool {
	key := func(n string) string { return strings.ToLower(n) }
	bySubject := map[string][]*x509.Certificate{}
	for _, r := range all {
		bySubject[key(r.cert.Subject.String())] = append(bySubject[key(r.cert.Subject.String())], r.cert)
	}
	seen := map[*x509.Certificate]bool{}
	var up func(c *x509.Certificate) bool
	up = func(c *x509.Certificate) bool {
		for _, p := range bySubject[key(c.Issuer.String())] {
			if seen[p] || p == c {
				continue
			}
			seen[p] = true
			if key(p.Subject.String()) == key(p.Issuer.String()) || up(p) {
				return true
			}
		}
		return false
	}
	return up(c)
}

// isRoot: self-issued and self-signed. CheckSignature, unlike
// CheckSignatureFrom, accepts the SHA-1 self-signatures of old roots.
func isRoot(c *x509.Certificate) bool {
	return strings.EqualFold(c.Subject.String(), c.Issuer.String()) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// TestRealMakerCAs loads the real TPM maker CA certificates of
// shared/tpm-ek-roots and checks that every intermediate whose issuers lead
// to a root in the folder chains to it, quirks included (issuer names in
// another string type, CA certificates re-issued after they signed), and
// that the others, whose root is not in the folder, are refused as
// untrusted.
func TestRealMakerCAs(t *testing.T) {
	dir, all := loadRealCAs(t)
	ts, err := enroll.LoadTrustStore(dir)
	if err != nil {
		t.Fatalf("LoadTrustStore(%s): %v", dir, err)
	}
	anchors, inter := ts.Len()
	t.Logf("%d certificates: %d roots, %d intermediates", len(all), anchors, inter)
	if anchors+inter != len(all) {
		t.Errorf("store holds %d certificates, the folder %d", anchors+inter, len(all))
	}
	var failed []string
	var verified, refused int
	for _, r := range all {
		if isRoot(r.cert) {
			continue
		}
		_, err := ts.Chain(r.cert, r.cert.NotBefore)
		switch want := reachesRoot(r.cert, all); {
		case want && err != nil:
			failed = append(failed, r.file+": "+err.Error())
		case !want && !errors.Is(err, enroll.ErrUntrustedCA):
			failed = append(failed, r.file+": its root is not in the folder, yet Chain = "+errString(err))
		case want:
			verified++
		default:
			refused++
		}
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		t.Errorf("%d intermediates judged wrongly:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	t.Logf("%d intermediates chain to a root of the folder; %d without their root there are refused", verified, refused)
	if verified < 150 {
		t.Errorf("only %d intermediates chain; the folder has far more with their roots", verified)
	}
}

// TestRealSHA1Chain exercises quirks 1 and 3: the legacy Infineon
// intermediates are signed with SHA-1 by "IFX TPM EK Root CA", whose
// VeriSign parent is not in the folder, and their AKI names a serial no
// source has. With IFX_RSA_RT.pem made an anchor (as the folder's README
// advises for chain-building verifiers), every one of them verifies.
func TestRealSHA1Chain(t *testing.T) {
	_, all := loadRealCAs(t)
	ts := enroll.NewTrustStore()
	var ifxRoot *x509.Certificate
	for _, r := range all {
		if r.file == "IFX_RSA_RT.pem" {
			ifxRoot = r.cert
		}
	}
	if ifxRoot == nil {
		t.Skip("IFX_RSA_RT.pem is not in the folder")
	}
	if err := ts.AddAnchor(ifxRoot, "IFX_RSA_RT.pem"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range all {
		if r.cert.SignatureAlgorithm != x509.SHA1WithRSA || isRoot(r.cert) || r.cert == ifxRoot {
			continue
		}
		n++
		if _, err := ts.Chain(r.cert, r.cert.NotBefore); err != nil {
			t.Errorf("%s (SHA-1 signed): %v", r.file, err)
		}
	}
	if n == 0 {
		t.Skip("no SHA-1-signed intermediate in the folder")
	}
	t.Logf("%d SHA-1-signed intermediates verified", n)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
