package api

import (
	"bytes"
	"net/http/httptest"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/wire"
)

// RouteInfo is a route table entry as the external tests see it.
type RouteInfo struct {
	Method, Path string
	Role         auth.Role
	Agent        bool
}

// RouteTable returns the route table, so that tests in package api_test
// (which may import servertest, and through it this package) cover it all.
func RouteTable() []RouteInfo {
	out := make([]RouteInfo, 0, len(routes))
	for _, r := range routes {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path, Role: r.Role, Agent: r.Agent})
	}
	return out
}

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
