package api

import (
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// HostEvidence is the answer of GET /api/v1/hosts/{name}/evidence: the
// evidence the verifier judged in the host's latest attestation, exactly as
// the agent sent it, with the key that signs its quotes. An auditor checks
// it with tools of their own; nothing in it needs bootproof to be believed.
type HostEvidence struct {
	Host string `json:"host"`
	// At is when the verifier recorded the evidence (and its verdict).
	At time.Time `json:"at"`
	// Evidence is the agent's POST /agent/v1/evidence body, in the same
	// JSON encoding: quotes (TPMS_ATTEST, TPMT_SIGNATURE, PCR values), the
	// event log and the bundle files, byte for byte.
	Evidence *wire.Evidence `json:"evidence"`
	// AKPublic is the TPMT_PUBLIC of the AK the verifier checked the
	// quotes with (the host's enrolled AK at the time). Absent for a host
	// without a TPM 2.0.
	AKPublic []byte `json:"ak_public,omitempty"`
	// AKName is the AK's TPM name (nameAlg || H(TPMT_PUBLIC)), hex: what
	// credential activation bound to the EK at enrolment.
	AKName string `json:"ak_name,omitempty"`
}

// hostEvidence serves the evidence behind a host's latest verdict.
func (s *server) hostEvidence(w http.ResponseWriter, r *http.Request) error {
	// An unknown host is host.not_found, not "has not attested yet".
	h, err := s.storedHost(r)
	if err != nil {
		return err
	}
	se, err := s.v.LatestEvidence(r.Context(), h.Name)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "host.no_evidence", "host %q has not attested yet", h.Name)
	}
	if err != nil {
		return err
	}
	ak := se.AKPublic
	if ak == nil {
		// Recorded before the verifier kept the AK with the evidence: the
		// enrolled one, which is the one unless the host has re-enrolled or
		// re-proved its AK since.
		ak = h.AKPublic
	}
	writeJSON(w, http.StatusOK, HostEvidence{Host: h.Name, At: se.At, Evidence: se.Evidence, AKPublic: ak, AKName: akName(ak)})
	return nil
}

// akName is the hex TPM name of an AK public area, or "" when there is no
// AK or it does not decode: the name is a convenience derived from
// ak_public, which is served either way.
func akName(akPub []byte) string {
	if len(akPub) == 0 {
		return ""
	}
	n, err := enroll.AKName(akPub)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(n)
}
