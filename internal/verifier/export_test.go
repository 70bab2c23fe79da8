package verifier

import (
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/memo"
	"github.com/bootproof/bootproof/internal/wire"
)

// ForgetEventLogs empties the memo of held event logs, as a restart or
// another replica would have it, so that the store must answer.
func (v *Verifier) ForgetEventLogs() { v.logs = memo.New[string, []byte](heldLogMemoEntries) }

// ForgetBundles empties the memo of held bundle files, so that the store
// must answer.
func (v *Verifier) ForgetBundles() { v.bundleFiles = memo.New[string, []byte](heldBundleMemoEntries) }

// VerdictJSON is the verdict encoder's output for v.
func VerdictJSON(v *appraisal.Verdict) []byte { return appendVerdict(nil, v) }

// EvidenceJSON is the evidence encoder's output for ev.
func EvidenceJSON(ev *wire.Evidence) []byte { return appendEvidence(nil, ev) }

// EncodeRecord encodes what recording an attestation stores for evidence
// ev checked with AK ak and its verdict v, and throws it away.
func EncodeRecord(ev *wire.Evidence, ak []byte, v *appraisal.Verdict) error {
	if _, _, err := splitEvidence(ev, ak); err != nil {
		return err
	}
	splitVerdict(v)
	return nil
}

// HoldPreview marks a policy preview as running until the returned func
// is called, as a long preview on another request would.
func (v *Verifier) HoldPreview() func() {
	v.previewing.Store(true)
	return func() { v.previewing.Store(false) }
}
