package enroll

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TrustStore holds TPM makers' CA certificates. Self-signed certificates are
// anchors (roots); the others are intermediates, used to build a path from
// an EK certificate to an anchor and trusted only through it. An operator
// may make an intermediate an anchor (AddAnchor) when its root is not
// available, as with the Alibaba Cloud vTPM CA.
type TrustStore struct {
	certs    []*storeCert
	byName   map[string][]*storeCert // canonical subject -> certificates
	byDigest map[string]bool         // raw DER -> present, to skip duplicates
}

type storeCert struct {
	cert   *x509.Certificate
	anchor bool
	source string // file name, for errors and reports
}

// NewTrustStore returns an empty store.
func NewTrustStore() *TrustStore {
	return &TrustStore{byName: map[string][]*storeCert{}, byDigest: map[string]bool{}}
}

// certExts are the file name extensions LoadTrustStore reads; other files
// (READMEs, notes) in a certificate folder are skipped.
var certExts = map[string]bool{".pem": true, ".crt": true, ".cer": true, ".der": true}

// LoadTrustStore reads every certificate file (.pem, .crt, .cer, .der; PEM
// with any number of CERTIFICATE blocks, or one DER certificate) under the
// directories, recursively. A file with such a name that holds no
// certificate is an error naming the file, so a corrupt store is noticed.
func LoadTrustStore(dirs ...string) (*TrustStore, error) {
	ts := NewTrustStore()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !certExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			certs, err := ParseCertificates(b)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, c := range certs {
				if err := ts.add(c, isSelfSigned(c), filepath.Base(path)); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load ek trust store %s: %w", dir, err)
		}
	}
	return ts, nil
}

// ParseCertificates reads PEM CERTIFICATE blocks, or a single DER
// certificate when b is not PEM.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%w: not PEM, and not a DER certificate: %v", ErrMalformed, err)
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block", ErrMalformed)
	}
	return out, nil
}

// AddAnchor trusts c as a root, whether or not it is self-signed (partial
// chain): EK certificates it issued verify without its own issuer.
func (ts *TrustStore) AddAnchor(c *x509.Certificate, source string) error {
	return ts.add(c, true, source)
}

// AddIntermediate adds c as chain-building material: trusted only through a
// path to an anchor.
func (ts *TrustStore) AddIntermediate(c *x509.Certificate, source string) error {
	return ts.add(c, false, source)
}

func (ts *TrustStore) add(c *x509.Certificate, anchor bool, source string) error {
	if ts.byDigest[string(c.Raw)] {
		// Already present; AddAnchor may promote it.
		if anchor {
			for _, sc := range ts.certs {
				if bytes.Equal(sc.cert.Raw, c.Raw) {
					sc.anchor = true
				}
			}
		}
		return nil
	}
	name, err := canonicalName(c.RawSubject)
	if err != nil {
		return fmt.Errorf("%w: subject of %s: %v", ErrMalformed, source, err)
	}
	sc := &storeCert{cert: c, anchor: anchor, source: source}
	ts.certs = append(ts.certs, sc)
	ts.byName[name] = append(ts.byName[name], sc)
	ts.byDigest[string(c.Raw)] = true
	return nil
}

// Len returns the number of anchors and intermediates.
func (ts *TrustStore) Len() (anchors, intermediates int) {
	for _, sc := range ts.certs {
		if sc.anchor {
			anchors++
		} else {
			intermediates++
		}
	}
	return anchors, intermediates
}

// isSelfSigned reports a certificate whose issuer is its subject (compared
// canonically) and whose signature verifies with its own key.
func isSelfSigned(c *x509.Certificate) bool {
	s, err1 := canonicalName(c.RawSubject)
	i, err2 := canonicalName(c.RawIssuer)
	if err1 != nil || err2 != nil || s != i {
		return false
	}
	return checkSignature(c, c) == nil
}
