package runtimepolicy

import (
	"encoding/hex"
	"fmt"
)

// Outcome is what the judge decided for one measurement.
type Outcome int

// Outcomes. The zero value is not an outcome.
const (
	AllowedByDigest Outcome = iota + 1
	AllowedBySignature
	Excluded
	Denied
	Unknown
	SignatureInvalid
)

var outcomeNames = [...]string{"", "allowed_digest", "allowed_signature", "excluded", "denied", "unknown", "signature_invalid"}

// String is the outcome's stable name, as reports show it.
func (o Outcome) String() string {
	if o < AllowedByDigest || o > SignatureInvalid {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Check codes of failing outcomes, stable: verdicts, webhooks and API
// clients match on them.
const (
	CodeUnknownFile = "ima.unknown_file"
	CodeDenied      = "ima.denied"
	CodeSignature   = "ima.signature"
)

// Decision is the judgment of one measurement.
type Decision struct {
	Outcome Outcome
	// Code is the check code of a failing outcome (Denied, Unknown,
	// SignatureInvalid), "" for the others.
	Code string
	// Enforced says the outcome fails the host: a failing outcome whose
	// rule's mode is enforce. A log-only one is reported only.
	Enforced bool
	// Rule names the policy rule that decided: `allow` (the entry of the
	// measurement's path),
	// `exclude[0] "/tmp/*"`, `deny[2]`, `trusted_keys[1]`,
	// `unknown_files`.
	Rule string
	// SigErr is what was wrong with the entry's signature, if it had one
	// that allowed nothing (ErrUnknownKey, ErrBadSignature, ...).
	SigErr error
	// detail completes the message ("not among the 2 digests allowed").
	detail string

	index         int
	path, hashAlg string
	fileHash      []byte
}

// Failed reports whether the outcome is a failing one, enforced or not.
func (d Decision) Failed() bool { return d.Code != "" }

// Digest is the measured digest as the policy writes it ("sha256:3f0a...").
func (d Decision) Digest() string { return FormatDigest(d.hashAlg, d.fileHash) }

// Message says what was decided for which file, naming the path, its
// digest and the entry. It is built on demand: judging a log of allowed
// files formats nothing.
func (d Decision) Message() string {
	what := fmt.Sprintf("entry %d: %q (%s)", d.index, d.path, d.digestText())
	mode := ""
	if d.Failed() && !d.Enforced {
		mode = " (log-only)"
	}
	switch d.Outcome {
	case AllowedByDigest:
		return fmt.Sprintf("%s: allowed by allow[%q]", what, d.path)
	case AllowedBySignature:
		return fmt.Sprintf("%s: allowed by its signature, verified with %s", what, d.Rule)
	case Excluded:
		return fmt.Sprintf("%s: not judged, excluded by %s", what, d.Rule)
	case Denied:
		return fmt.Sprintf("%s: denied by %s%s%s", what, d.Rule, d.detail, mode)
	case SignatureInvalid:
		return fmt.Sprintf("%s: %v%s", what, d.SigErr, mode)
	case Unknown:
		return fmt.Sprintf("%s: %s%s", what, d.detail, mode)
	}
	return what
}

// digestText writes the digest, or says there is none.
func (d Decision) digestText() string {
	if len(d.fileHash) == 0 {
		return "no digest"
	}
	if d.hashAlg == "" {
		return hex.EncodeToString(d.fileHash)
	}
	return d.Digest()
}
