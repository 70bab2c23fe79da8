package api

import (
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// The answers below were written as maps; they are named types so that
// clients and tests decode into what the server encodes (a misspelt field
// then fails to compile or to decode, instead of reading as empty). Field
// order is the maps' (alphabetical), so the bytes on the wire are as before.

// VersionResponse is GET /api/v1/version.
type VersionResponse struct {
	AgentProtocol int    `json:"agent_protocol"`
	API           string `json:"api"`
}

// HostDetail is GET /api/v1/hosts/{name}: the host and its latest verdict.
type HostDetail struct {
	Host
	Verdict *appraisal.Verdict `json:"verdict,omitempty"`
	// PolicyVersion is the version of the group's policy the verdict was
	// judged under; absent for verdicts recorded before versions.
	PolicyVersion int `json:"policy_version,omitempty"`
}

// HostVerdict is GET /api/v1/hosts/{name}/verdict.
type HostVerdict struct {
	At      time.Time          `json:"at"`
	Host    string             `json:"host"`
	Verdict *appraisal.Verdict `json:"verdict"`
	// PolicyVersion: as in HostDetail.
	PolicyVersion int `json:"policy_version,omitempty"`
}

// AttestResponse is the answer to an attest-now request: how many hosts
// were asked.
type AttestResponse struct {
	Requested int `json:"requested"`
}

// TrustTokenResponse is POST /api/v1/hosts/{name}/trust-token.
type TrustTokenResponse struct {
	Claims *trusttoken.Claims `json:"claims"`
	Token  string             `json:"token"`
}

// List is a list answered whole.
type List[T any] struct {
	Items []T `json:"items"`
}

// Window is one window of a list paged by limit and offset whose total is
// not counted (a host's history and attestations).
type Window[T any] struct {
	Items  []T `json:"items"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// Group is one entry of GET /api/v1/groups.
type Group struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// JoinTokenInfo is one entry of GET /api/v1/join-tokens (never the secret).
type JoinTokenInfo struct {
	ID        string     `json:"id"`
	Group     string     `json:"group"`
	Host      string     `json:"host,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	UsedBy    string     `json:"used_by,omitempty"`
}

// Report is GET /api/v1/report?format=json.
type Report struct {
	GeneratedAt time.Time   `json:"generated_at"`
	Hosts       []ReportRow `json:"hosts"`
}
