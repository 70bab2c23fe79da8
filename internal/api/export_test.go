package api

import (
	"bytes"
	"net/http/httptest"

	"github.com/bootproof/bootproof/internal/wire"
)

// DecodeEvidence decodes body as the agent evidence handler does.
func DecodeEvidence(body []byte) (wire.Evidence, error) {
	r := httptest.NewRequest("POST", "/agent/v1/evidence", bytes.NewReader(body))
	var ev wire.Evidence
	err := decodeEvidence(httptest.NewRecorder(), r, &ev)
	return ev, err
}

// KeepAliveEvidenceBytes is the largest evidence body after which the
// agent's connection is kept.
const KeepAliveEvidenceBytes = keepAliveEvidenceBytes
