package bootview

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/appraisal"
)

// Cert is a certificate as shown: its subject ("" when the verdict holds
// only its fingerprint, as verdicts recorded before subjects were kept do)
// and its SHA-256 fingerprint.
type Cert struct {
	Subject string
	SHA256  string
}

// Label is the subject, or a notice that it was not recorded.
func (c Cert) Label() string {
	if c.Subject == "" {
		return "subject not recorded"
	}
	return c.Subject
}

// Short is the fingerprint's first 16 hex digits.
func (c Cert) Short() string { return short(c.SHA256) }

// String is the certificate on one line, with its full fingerprint.
func (c Cert) String() string { return c.Label() + " (sha256:" + c.SHA256 + ")" }

// SecureBoot is the Secure Boot state as shown: one list per variable,
// certificates by subject.
type SecureBoot struct {
	Enabled bool
	PK      []Cert
	KEK     []Cert
	DB      []Cert
	// DBX says how many revocations dbx held ("12 entries").
	DBX string
	// Authorities verified the images that booted, in log order.
	Authorities []Cert
	Shim        *Shim // nil when shim did not run
}

// Shim is shim's own state as shown.
type Shim struct {
	SbatLevel  string // the text, or "not measured"
	Validation string // "on", "off (MokSBState asked shim not to verify what it loads)" or "not measured"
	// MokLists are shim's key lists as measured into PCR 14: name and
	// digest only, the contents are not in the log.
	MokLists []Measured
}

// SecureBootOf words a verdict's Secure Boot state; nil when it has none.
func SecureBootOf(sb *appraisal.SecureBoot) *SecureBoot {
	if sb == nil {
		return nil
	}
	return &SecureBoot{
		Enabled:     sb.Enabled,
		PK:          certs(sb.PKCerts, sb.PK),
		KEK:         certs(sb.KEKCerts, sb.KEK),
		DB:          certs(sb.DBCerts, sb.DB),
		DBX:         entries(sb.DBX),
		Authorities: certs(sb.AuthorityCerts, sb.Authorities),
		Shim:        shimOf(sb.Shim),
	}
}

// certs are the named certificates, or the bare fingerprints when the
// verdict has no names for them.
func certs(named []appraisal.CertName, fingerprints []string) []Cert {
	out := make([]Cert, 0, max(len(named), len(fingerprints)))
	if len(named) > 0 {
		for _, c := range named {
			out = append(out, Cert{Subject: c.Subject, SHA256: c.SHA256})
		}
		return out
	}
	for _, f := range fingerprints {
		out = append(out, Cert{SHA256: f})
	}
	return out
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func shimOf(s *appraisal.ShimState) *Shim {
	if s == nil {
		return nil
	}
	out := &Shim{SbatLevel: s.SbatLevel, Validation: s.Validation, MokLists: NotJudged(s.MokLists)}
	if out.SbatLevel == "" {
		out.SbatLevel = notMeasured
	}
	switch s.Validation {
	case "":
		out.Validation = notMeasured
	case "off":
		out.Validation = "off (MokSBState asked shim not to verify what it loads)"
	}
	return out
}

const notMeasured = "not measured"
