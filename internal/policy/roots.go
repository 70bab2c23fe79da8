package policy

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/memo"
)

// TrustedRootCerts parses the trusted bundle roots. Validate calls it, and
// the appraisal calls both on every attestation, so the certificates of each
// trusted_roots entry are parsed once per process and then shared (see
// rootMemo): callers must not modify them. The slice is the caller's own.
func (p *Policy) TrustedRootCerts() ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i, s := range p.Bundles.TrustedRoots {
		cs, err := parsedRoots.parse(s)
		if err != nil {
			return nil, fmt.Errorf("bundles.trusted_roots[%d]: %w", i, err)
		}
		certs = append(certs, cs...)
	}
	return certs, nil
}

// checkTrustedRoots is TrustedRootCerts for Validate, which wants only the
// verdict: it builds no slice, so validating a valid policy allocates
// nothing once its roots are in the memo.
func (p *Policy) checkTrustedRoots() error {
	for i, s := range p.Bundles.TrustedRoots {
		if _, err := parsedRoots.parse(s); err != nil {
			return fmt.Errorf("bundles.trusted_roots[%d]: %w", i, err)
		}
	}
	return nil
}

// parseRootPEM reads one trusted_roots entry: one or more CERTIFICATE
// blocks and nothing else.
func parseRootPEM(s string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(s)
	for n := 0; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("text after the last PEM block")
	}
	return certs, nil
}

// Bounds on the memo of parsed roots. A fleet trusts a handful of vendor
// roots, each a PEM certificate or two of a few KiB; the bounds only keep a
// stream of policy edits from growing it without end.
const (
	maxMemoRoots    = 256
	maxMemoRootText = 16 << 10
)

// parsedRoots is the process's memo of parsed trusted_roots entries. It is
// keyed by the entry's PEM text, not by policy, so it is right for any
// Policy however it was made, copied or changed: a changed entry is another
// key. Only successes are kept; a bad entry is parsed again each time and
// fails with the same error.
var parsedRoots = newRootMemo(maxMemoRoots)

// rootMemo maps PEM text to its parsed certificates. Reads take no lock
// (entries are written once and read on every attestation); the memo is
// cleared when full rather than growing.
type rootMemo struct {
	entries *memo.Bounded[string, []*x509.Certificate]
}

func newRootMemo(size int) *rootMemo {
	return &rootMemo{entries: memo.New[string, []*x509.Certificate](size)}
}

func (m *rootMemo) parse(s string) ([]*x509.Certificate, error) {
	if certs, ok := m.entries.Get(s); ok {
		return certs, nil
	}
	certs, err := parseRootPEM(s)
	if err != nil || len(s) > maxMemoRootText {
		return certs, err
	}
	m.entries.Put(s, certs)
	return certs, nil
}
