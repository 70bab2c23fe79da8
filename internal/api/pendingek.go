package api

import (
	"time"

	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// PendingEK is a changed TPM waiting for an operator's approval: what the
// operator compares with the TPM they installed before approving it with
// `bootproof hosts approve-ek NAME --ek SHA256`.
type PendingEK struct {
	// SHA256 is "sha256:" and the hex SHA-256 of the EK public area
	// (TPMT_PUBLIC), the value approve-ek takes.
	SHA256 string `json:"sha256"`
	// Subject, Issuer and Serial are the EK certificate's (serial in
	// hex); empty when the EK came without a certificate (pinned).
	Subject string `json:"certificate_subject,omitempty"`
	Issuer  string `json:"certificate_issuer,omitempty"`
	Serial  string `json:"certificate_serial,omitempty"`
	// CertError says why the certificate could not be read, if it could not.
	CertError string     `json:"certificate_error,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
}

// ApproveEKRequest names the EK an operator approves: the pending EK's
// digest as the host view shows it (pending_ek.sha256).
type ApproveEKRequest struct {
	EK string `json:"ek"`
}

// pendingEKFrom describes h's pending EK, or nil when none waits.
func pendingEKFrom(h store.Host) *PendingEK {
	if len(h.PendingEKPublic) == 0 {
		return nil
	}
	p := &PendingEK{SHA256: verifier.EKRef(verifier.EKDigest(h.PendingEKPublic)), Since: h.PendingEKAt}
	if len(h.PendingEKCert) == 0 {
		return p
	}
	c, err := enroll.ParseEKCert(h.PendingEKCert)
	if err != nil {
		p.CertError = err.Error()
		return p
	}
	p.Subject, p.Issuer = c.Cert.Subject.String(), c.Cert.Issuer.String()
	p.Serial = c.Cert.SerialNumber.Text(16)
	return p
}
