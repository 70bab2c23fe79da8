package api

import (
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Host is a host as the API shows it.
type Host struct {
	Name         string     `json:"name"`
	Group        string     `json:"group"`
	TPMFamily    string     `json:"tpm_family"`
	Status       string     `json:"status"`
	StatusSince  time.Time  `json:"status_since"`
	LastAttested *time.Time `json:"last_attested,omitempty"`
	ReasonCode   string     `json:"reason_code,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	// TrustLevel is a Passed host's trust level: secure_boot_only when
	// its group constrains no component, references otherwise.
	TrustLevel string    `json:"trust_level,omitempty"`
	EnrolledAt time.Time `json:"enrolled_at"`
	EKSHA256   string    `json:"ek_sha256,omitempty"`
	PendingEK  bool      `json:"pending_ek_change,omitempty"`
	// PendingEKInfo is the TPM waiting for an operator's approval
	// (approve-ek): set only once credential activation proved that the
	// enrolling agent holds it.
	PendingEKInfo *PendingEK `json:"pending_ek,omitempty"`
	Staleness
}

// Staleness says that a host's status is out of date: no evidence from the
// host for longer than its group allows (interval × unreachable_after),
// though it is not Unreachable yet. The sweeper marks such a host
// Unreachable within seconds, but cannot while the verifier's store takes
// no writes: Status then still says Passed (or Failed) as last recorded,
// and Stale says not to take it as current. Computed when read.
type Staleness struct {
	Stale bool `json:"stale"`
	// StaleSince is when the group's limit ran out (with Stale only).
	StaleSince *time.Time `json:"stale_since,omitempty"`
}

// StalenessOf is the Staleness of a host with since and stale as
// verifier.StaleSince reports them.
func StalenessOf(since time.Time, stale bool) Staleness {
	if !stale {
		return Staleness{}
	}
	s := since.UTC()
	return Staleness{Stale: true, StaleSince: &s}
}

// HostFrom converts a stored host.
func HostFrom(h store.Host) Host {
	return Host{Name: h.Name, Group: h.Group, TPMFamily: h.TPMFamily, Status: h.Status, StatusSince: h.StatusSince,
		LastAttested: h.LastAttested, ReasonCode: h.ReasonCode, Reason: h.Reason, EnrolledAt: h.EnrolledAt,
		EKSHA256: h.EKDigest, PendingEK: len(h.PendingEKPublic) > 0, PendingEKInfo: pendingEKFrom(h)}
}

// Page is a page of a list.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// HistoryEntry is one status change.
type HistoryEntry struct {
	At time.Time `json:"at"`
	// PolicyVersion is the policy version the change's verdict was judged
	// under; absent when none was (Unreachable) or before versions.
	PolicyVersion int    `json:"policy_version,omitempty"`
	From          string `json:"from"`
	To            string `json:"to"`
	ReasonCode    string `json:"reason_code,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// EvidenceBytes is what the change's kept evidence costs its host's
	// storage cap; 0 when it has none (an Unreachable change) or it was
	// dropped.
	EvidenceBytes int64 `json:"evidence_bytes"`
	// EvidenceDropped says why the evidence that caused the change is no
	// longer kept (the host over its storage cap or its rate of full
	// evidences, the history past its retention); empty while it is kept.
	EvidenceDropped string `json:"evidence_dropped,omitempty"`
}

// Attestation is one appraisal of a host, status change or not, or (Rollup
// "hour") the appraisals of one hour with one status, for those older than
// the verifier keeps one by one.
type Attestation struct {
	At             time.Time  `json:"at"` // a roll-up's: the start of its hour
	Status         string     `json:"status"`
	ReasonCode     string     `json:"reason_code,omitempty"` // a roll-up's: its last appraisal's
	DurationMicros int64      `json:"duration_us"`           // a roll-up's: the mean
	Count          int64      `json:"count"`                 // appraisals: 1, or a roll-up's
	Rollup         string     `json:"rollup,omitempty"`
	MinDurationUS  *int64     `json:"duration_min_us,omitempty"`
	MaxDurationUS  *int64     `json:"duration_max_us,omitempty"`
	LastAt         *time.Time `json:"last_at,omitempty"`
}

// AttestationFrom is the API view of a stored summary or roll-up.
func AttestationFrom(s store.AttestationSummary) Attestation {
	a := Attestation{At: s.At, Status: s.Status, ReasonCode: s.ReasonCode, DurationMicros: s.DurationMicros, Count: s.Count}
	if s.Period == 0 {
		return a
	}
	a.Rollup = "hour"
	if s.Count > 0 {
		a.DurationMicros = s.DurationMicros / s.Count
	}
	minD, maxD, last := s.MinDurationMicros, s.MaxDurationMicros, s.LastAt
	a.MinDurationUS, a.MaxDurationUS, a.LastAt = &minD, &maxD, &last
	return a
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// JoinTokenRequest asks for a join token.
type JoinTokenRequest struct {
	Group string `json:"group"`
	Host  string `json:"host,omitempty"`
	// TTL is a Go duration ("1h"); default 24h.
	TTL string `json:"ttl,omitempty"`
}

// JoinTokenResponse carries a join token, shown once.
type JoinTokenResponse struct {
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	Group     string    `json:"group"`
	Host      string    `json:"host,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// APITokenRequest asks for an API token.
type APITokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// APITokenResponse carries an API token, shown once.
type APITokenResponse struct {
	Token string `json:"token,omitempty"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	// Revoked is set for revoked tokens in lists.
	Revoked bool `json:"revoked,omitempty"`
}

// AttestRequest selects hosts to attest now.
type AttestRequest struct {
	Group string `json:"group,omitempty"`
	All   bool   `json:"all,omitempty"`
}

// ReportRow is one host in a report export. ReasonCode and Reason are the
// host's headline, the stored first reason every surface shows (for a
// Failed host the verdict's ranked Headline); Reasons and ReasonCodes list
// every failed check of the latest verdict, in the appraisal's order.
type ReportRow struct {
	Name         string     `json:"name"`
	Group        string     `json:"group"`
	TPMFamily    string     `json:"tpm_family"`
	Status       string     `json:"status"`
	StatusSince  time.Time  `json:"status_since"`
	LastAttested *time.Time `json:"last_attested,omitempty"`
	ReasonCode   string     `json:"reason_code"`
	Reason       string     `json:"reason"`
	Reasons      []string   `json:"reasons"`
	ReasonCodes  []string   `json:"reason_codes"`
	// TrustLevel as on Host: "" unless Passed.
	TrustLevel string `json:"trust_level"`
	Staleness
}

// AcceptRequest accepts the value of a per-host class for some hosts
// (POST /api/v1/hosts/accept).
type AcceptRequest struct {
	Hosts []string `json:"hosts"`
	Class string   `json:"class"`
}

// Pin is the value of a per-host class pinned on a host.
type Pin struct {
	Host       string    `json:"host"`
	Class      string    `json:"class"`
	Bank       string    `json:"bank"`
	Digests    []string  `json:"digests"`
	Since      time.Time `json:"since"`
	AcceptedBy string    `json:"accepted_by,omitempty"`
}

// AcceptResponse lists the pins an accept wrote.
type AcceptResponse struct {
	Pins []Pin `json:"pins"`
}
