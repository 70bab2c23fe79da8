package verifier

import (
	"strings"

	"github.com/bootproof/bootproof/internal/appraisal"
)

// CodeNotAReference is the refusal of `policy learn` from a host whose
// latest verdict failed for more than reference values (409).
const CodeNotAReference = "learn.not_a_reference"

// Blocker is one reason a host's latest boot cannot be taken as a
// reference: a failed check of its verdict, or Secure Boot off or unknown.
type Blocker struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Overridable says `--force --reason` may take the boot anyway (Secure
	// Boot off, a bad bundle). Evidence that is not authentic (quote,
	// replay, data mismatch, TPM family, an N/A or silent host) proves
	// nothing, so no reason makes it a reference.
	Overridable bool `json:"overridable"`
}

// learnBlockers are the reasons the verdict is not a reference boot. Only
// reference.* failures are none: they are what learning is for.
func learnBlockers(vd *appraisal.Verdict) []Blocker {
	if vd.Status == appraisal.NA {
		return []Blocker{{Code: appraisal.CodeNotTPM20, Message: "the host is N/A: it enrolled without a TPM 2.0, so nothing it sends is proven"}}
	}
	var out []Blocker
	sbListed := false
	for _, c := range vd.Failures() {
		if learnable(c.Code) {
			continue
		}
		sbListed = sbListed || strings.HasPrefix(c.Code, "secureboot.")
		out = append(out, Blocker{Code: c.Code, Message: c.Message, Overridable: !evidenceCode(c.Code)})
	}
	if !sbListed && (vd.SecureBoot == nil || !vd.SecureBoot.Enabled) {
		out = append(out, Blocker{Code: appraisal.CodeSecureBootDisabled, Overridable: true,
			Message: "Secure Boot was off or its state unknown in this boot (the group does not require it, but a reference boot must have it)"})
	}
	if !authentic(vd) && !anyEvidenceBlocker(out) {
		out = append(out, Blocker{Code: "evidence.unproven", Message: "no quote proved this boot's PCRs"})
	}
	return out
}

// evidenceCode reports whether a failed check makes the evidence itself
// untrustworthy, rather than a boot the policy dislikes.
func evidenceCode(code string) bool {
	for _, p := range []string{"quote.", "eventlog.", "evidence.", "tpm."} {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

func anyEvidenceBlocker(bs []Blocker) bool {
	for _, b := range bs {
		if !b.Overridable {
			return true
		}
	}
	return false
}

// blockerList names the blockers for a message, each with its sentence:
// "secureboot.disabled (Secure Boot is off.); bundle.signature (...)".
func blockerList(bs []Blocker) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Code + " (" + b.Message + ")"
	}
	return strings.Join(parts, "; ")
}

// LearnRefusal is the learn.not_a_reference refusal with the checks that
// block the host, for callers (the web page) that list them. It unwraps to
// the *Error adapters map to 409.
type LearnRefusal struct {
	Err      *Error
	Host     string
	Blocking []Blocker
}

func (r *LearnRefusal) Error() string { return r.Err.Error() }
func (r *LearnRefusal) Unwrap() error { return r.Err }

// refuseLearn builds the refusal: forced says --force was given and the
// blockers include one it cannot override.
func refuseLearn(host string, bs []Blocker, forced bool) *LearnRefusal {
	msg := "host %q cannot be a reference: its latest verdict is blocked by %s; pass --force with --reason to take it anyway"
	if forced {
		msg = "host %q cannot be a reference even with --force: its evidence is not authentic (%s)"
	}
	return &LearnRefusal{Err: refuse(KindConflict, CodeNotAReference, msg, host, blockerList(bs)), Host: host, Blocking: bs}
}

// learnable reports whether a failure is one learning answers: a component
// not among the reference values, or a group that has none yet
// (references_required). A denied build is not: the group said it is bad.
func learnable(code string) bool {
	return code == appraisal.CodeNoReferences ||
		strings.HasPrefix(code, "reference.") && code != appraisal.CodeRefDenied
}
