package appraisal

import (
	"time"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

// Status is a host's appraised status.
type Status string

// The statuses an appraisal gives. Unreachable and Pending are the
// verifier's, never the appraisal's.
const (
	Passed Status = "Passed"
	Failed Status = "Failed"
	NA     Status = "N/A"
)

// Check codes. They are stable: reports, webhooks and API clients match on
// them.
const (
	CodeQuoteSignature      = "quote.signature"
	CodeQuoteNonce          = "quote.nonce"
	CodeQuotePCRDigest      = "quote.pcr_digest"
	CodeQuoteClock          = "quote.clock"
	CodeQuoteReset          = "quote.reset"
	CodeQuoteMissingBank    = "quote.missing_bank"
	CodeQuotePCRSelection   = "quote.pcr_selection"
	CodeEventLogParse       = "eventlog.parse"
	CodeEventLogReplay      = "eventlog.replay"
	CodeSecureBootDisabled  = "secureboot.disabled"
	CodeSecureBootVariables = "secureboot.variables"
	CodeRefFirmware         = "reference.firmware"
	CodeRefBootloader       = "reference.bootloader"
	CodeRefKernel           = "reference.kernel"
	CodeRefInitrd           = "reference.initrd"
	CodeRefBootOptions      = "reference.boot_options"
	CodeRefBootConfig       = "reference.boot_config"
	CodeRefBootCommands     = "reference.boot_commands"
	CodeRefModule           = "reference.module"
	CodeBundleUnmeasured    = "bundle.unmeasured_module"
	CodeBundleDigest        = "bundle.digest"
	CodeBundleSignature     = "bundle.signature"
	CodeBundleAcceptance    = "bundle.acceptance"
	CodeBundleNotMeasured   = "bundle.not_measured"
	CodeNotTPM20            = "tpm.not_tpm20"
	CodeTPMFamilyMismatch   = "tpm.family_mismatch"
)

// referenceCodes maps a component class to its check code.
var referenceCodes = map[string]string{
	policy.ClassFirmware:    CodeRefFirmware,
	policy.ClassBootloader:  CodeRefBootloader,
	policy.ClassKernel:      CodeRefKernel,
	policy.ClassInitrd:      CodeRefInitrd,
	policy.ClassBootOptions: CodeRefBootOptions,
	policy.ClassBootConfig:  CodeRefBootConfig,
	policy.ClassBootCmds:    CodeRefBootCommands,
	policy.ClassModules:     CodeRefModule,
}

// Input is everything one appraisal needs. Evidence is untrusted; the rest
// is the verifier's own record.
type Input struct {
	Evidence *wire.Evidence
	// EnrolledFamily is the TPM family the host enrolled with
	// (wire.FamilyTPM20, FamilyTPM12 or FamilyNone); "" means TPM 2.0.
	// It alone makes a host N/A: Evidence.TPMFamily is only the host's
	// claim, and a TPM 2.0 host claiming another family is Failed.
	EnrolledFamily string
	// AKPublic is the host's enrolled AK, a TPMT_PUBLIC.
	AKPublic []byte
	// Nonce is the nonce the verifier issued for this attestation.
	Nonce []byte
	// Last is the TPM clock of the last accepted quote, or nil for the
	// first attestation.
	Last *ClockInfo
	// Policy is the host group's policy.
	Policy *policy.Policy
	// Now is the time of the appraisal, for certificate validity.
	Now time.Time
	// BundleMemo, if set, remembers bundle files that verified, across
	// appraisals; nil parses and verifies every file each time. Verdicts
	// are the same either way.
	BundleMemo *BundleMemo
	// UnquotedPCRs, when the evidence has no quote, are PCR values taken on
	// trust for replay only (bootproof appraise on evidence files without a
	// quote). The quote checks are then not made: the verdict lists them in
	// NotChecked. Never set by the verifier, which has no other source of
	// PCR values than a quote.
	UnquotedPCRs eventlog.PCRValues
	// Pins are the values pinned on this host for the policy's per-host
	// classes (policy.PerHost), from the verifier's store; a class without
	// one has no pin yet.
	Pins []Pin
}

// ClockInfo is a quote's TPMS_CLOCK_INFO (TPM 2.0 Part 2 §10.11.1): the
// TPM's clock and its reset and restart counts. Compared with the last
// accepted one it tells a fresh quote from a replayed one.
type ClockInfo struct {
	Clock        uint64 `json:"clock"`
	ResetCount   uint32 `json:"reset_count"`
	RestartCount uint32 `json:"restart_count"`
	Safe         bool   `json:"safe"`
}

// Check is one judgement. A failed check names what failed and shows the
// evidence: the bank, PCR and event it is about, and what was expected and
// found (hex digests, or values such as counters).
type Check struct {
	Code    string `json:"code"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
	Bank    string `json:"bank,omitempty"`
	// PCR and EventIndex are nil when the check is not about one.
	PCR        *int     `json:"pcr,omitempty"`
	EventIndex *int     `json:"event_index,omitempty"`
	Component  string   `json:"component,omitempty"`
	Expected   []string `json:"expected,omitempty"`
	Found      string   `json:"found,omitempty"`
}

// Verdict is the outcome of one appraisal.
type Verdict struct {
	Status Status `json:"status"`
	// TrustLevel says how much a Passed verdict vouches for:
	// TrustSecureBootOnly when the group constrains no component,
	// TrustReferences otherwise. Empty unless Passed.
	TrustLevel string `json:"trust_level,omitempty"`
	// Checks are every judgement made, passed and failed, in the order
	// made.
	Checks []Check `json:"checks"`
	// Clock is the clock of the quotes when they were signed by the AK,
	// carried the nonce and were not older than Last: the caller stores it
	// as the next Last. Nil when no quote was accepted.
	Clock *ClockInfo `json:"clock,omitempty"`
	// Bank is the bank decisions rest on: the strongest quoted bank
	// (SHA-256 or better).
	Bank string `json:"bank,omitempty"`
	// SecureBoot is the Secure Boot state the verified PCR 7 events show.
	SecureBoot *SecureBoot `json:"secure_boot,omitempty"`
	// Components are what the verified events measured, for the report
	// and for policy.Learn.
	Components policy.Components `json:"components,omitempty"`
	// PCRs are the quoted PCR values, hex by bank name and PCR index, of
	// quotes whose signature, nonce and digest held.
	PCRs map[string]map[int]string `json:"pcrs,omitempty"`
	// Bundles are the host's bundles as judged.
	Bundles []Bundle `json:"bundles,omitempty"`
	// NotChecked are the checks that were not made, each with why: the
	// quote checks of an appraisal on unquoted PCR values (Input.
	// UnquotedPCRs). The verifier's own verdicts never have any.
	NotChecked []Check `json:"not_checked,omitempty"`
	// NotJudged are the proven measurements no rule judged: events that
	// are neither a component nor read by the Secure Boot checks (shim's
	// MokList, MokListX and MokListTrusted in PCR 14, its SbatLevel in
	// PCR 7, the platform configuration in PCR 1, ...), in log order.
	// The verdict does not vouch for them; a page lists them so that an
	// operator knows.
	NotJudged []Measurement `json:"not_judged,omitempty"`
}

// Measurement is one proven event, named for people.
type Measurement struct {
	PCR        int    `json:"pcr"`
	EventIndex int    `json:"event_index"`
	Type       string `json:"type"`
	// Name is what the event's data calls it (a variable name, a
	// description); NameProven as for policy.Component.
	Name       string `json:"name,omitempty"`
	NameProven bool   `json:"name_proven"`
	// SHA256 is the event's SHA-256 digest when that bank was proven.
	SHA256 string `json:"sha256,omitempty"`
	// Note says what the digest is of when the event's data does not
	// show it: shim logs only a MokList's name, so its contents are not
	// in the log, only their digest.
	Note string `json:"note,omitempty"`
}

// CertName is a certificate as reports name it: its subject's common name
// (or the whole subject when it has none) and its SHA-256 fingerprint.
type CertName struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

// Failures returns the failed checks.
func (v *Verdict) Failures() []Check {
	var out []Check
	for _, c := range v.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// SecureBoot summarises the Secure Boot state for the report.
type SecureBoot struct {
	Enabled bool `json:"enabled"`
	// PK, KEK and DB are SHA-256 fingerprints of the certificates in the
	// variables as measured; DBX counts the revocations.
	PK  []string `json:"pk,omitempty"`
	KEK []string `json:"kek,omitempty"`
	DB  []string `json:"db,omitempty"`
	DBX int      `json:"dbx"`
	// Authorities are fingerprints (or hashes) of the db entries that
	// authorised loaded images.
	Authorities []string `json:"authorities,omitempty"`
	// PKCerts, KEKCerts and DBCerts are the same certificates as PK, KEK
	// and DB, named by subject; AuthorityCerts those that verified
	// images, in log order, once each.
	PKCerts        []CertName `json:"pk_certs,omitempty"`
	KEKCerts       []CertName `json:"kek_certs,omitempty"`
	DBCerts        []CertName `json:"db_certs,omitempty"`
	AuthorityCerts []CertName `json:"authority_certs,omitempty"`
	// Shim is what shim measured of its own state; nil when shim did
	// not run (or logged none of it).
	Shim *ShimState `json:"shim,omitempty"`
}

// ShimState is shim's state as its proven measurements show it.
type ShimState struct {
	// SbatLevel is the SBAT revocation level shim applied: the text of
	// its SbatLevel variable, as measured into PCR 7 (the digest binds
	// it). "" when shim measured none (before 15.3).
	SbatLevel string `json:"sbat_level,omitempty"`
	// Validation is "off" when MokSBState asked shim not to verify what
	// it loads, or Secure Boot was off (shim verifies only under Secure
	// Boot); "on" otherwise. shim measures MokSBState into PCR 7 only when
	// the variable is set, so its absence from a proven PCR 7 is proof.
	Validation string `json:"validation"`
	// MokLists are shim's key lists and settings as it measured them into
	// PCR 14 (MokList, MokListX, MokListTrusted, MokSBState, MokPolicy):
	// shim logs only the variable's name (EV_IPL, unproven) and extends the
	// digest of its contents, so the contents are not in the log. Which
	// MokList certificate verified an image is in the PCR 7 authority
	// events (SecureBoot.AuthorityCerts, a component's Authority).
	MokLists []Measurement `json:"mok_lists,omitempty"`
}

// Bundle is one bundle of the host's inventory as judged.
type Bundle struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Vendor     string `json:"vendor"`
	Acceptance string `json:"acceptance"`
	// Signature is "valid", or why not.
	Signature string `json:"signature"`
}

func intp(i int) *int { return &i }
