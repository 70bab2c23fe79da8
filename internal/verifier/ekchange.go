package verifier

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Reason codes of a host whose TPM change an operator approved.
const (
	// CodeEKChangeApproved is the reason of a host left Pending by an
	// approved EK change until it enrols again and attests.
	CodeEKChangeApproved = "enroll.ek_change_approved"
)

// EKRef spells an EK digest as operators type it: "sha256:" and hex.
func EKRef(ekDigest string) string { return "sha256:" + ekDigest }

// ParseEKRef reads an EK digest as operators type it ("sha256:" and 64 hex
// digits, or the hex alone) and returns it as the store keeps it.
func ParseEKRef(s string) (string, error) {
	h := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "", refuse(KindInvalid, "host.ek_invalid", "EK %q is not a SHA-256 digest: want sha256: and 64 hex digits", s)
	}
	return h, nil
}

// ApproveEK accepts a host's pending EK change, naming the EK approved
// (ek, as ParseEKRef reads it): an approval of any EK but the pending one
// is refused, so an operator approves the TPM they checked, not whichever
// TPM enrolled last. The old AK and client certificate belonged to the old
// TPM and are cleared: the host is Pending until it enrols again with the
// new TPM and attests.
func (v *Verifier) ApproveEK(ctx context.Context, actor, name, ek string) error {
	if strings.TrimSpace(ek) == "" {
		return refuse(KindInvalid, "host.ek_required",
			"name the EK to approve (sha256:<hex>, shown as pending_ek of host %q): approving whichever EK is pending could approve an attacker's TPM", name)
	}
	want, err := ParseEKRef(ek)
	if err != nil {
		return err
	}
	_, err = v.st.UpdateHost(ctx, name, func(h *store.Host) error {
		if len(h.PendingEKPublic) == 0 {
			return refuse(KindConflict, "host.no_pending_ek", "host %q has no EK change waiting", name)
		}
		if pending := EKDigest(h.PendingEKPublic); pending != want {
			return refuse(KindConflict, "host.pending_ek_mismatch",
				"the EK waiting for approval on host %q is %s, not %s; nothing was approved", name, EKRef(pending), EKRef(want))
		}
		approveEK(h, v.now())
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return refuse(KindNotFound, "host.not_found", "no host named %q", name)
	}
	if err != nil {
		return err
	}
	v.audit(ctx, actor, "host.approve_ek", name, "EK "+EKRef(want))
	return nil
}

// approveEK makes h's pending EK its EK and clears what belonged to the
// old TPM. The host shows Pending (not its old verdict) until the new TPM
// has enrolled and attested.
func approveEK(h *store.Host, now time.Time) {
	h.EKPublic, h.EKCert = h.PendingEKPublic, h.PendingEKCert
	h.EKDigest = EKDigest(h.EKPublic)
	h.PendingEKPublic, h.PendingEKCert, h.PendingEKAt = nil, nil, nil
	h.AKPublic, h.ClientCertSHA256 = nil, ""
	h.LastClock = store.ClockInfo{}
	if h.Status != store.StatusPending {
		h.Status, h.StatusSince = store.StatusPending, now
	}
	h.ReasonCode = CodeEKChangeApproved
	h.Reason = "An operator approved a new TPM (EK " + EKRef(h.EKDigest) + "); the host must enrol again with it and attest."
}
