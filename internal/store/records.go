package store

import (
	"bytes"
	"fmt"
	"time"
)

// Host statuses, as shown in the security report.
const (
	StatusPending     = "Pending"     // enrolled, not yet attested
	StatusPassed      = "Passed"      // the latest evidence is fresh and every check held
	StatusFailed      = "Failed"      // at least one check failed
	StatusNA          = "N/A"         // no TPM 2.0: the host cannot attest
	StatusUnreachable = "Unreachable" // missed attestations for longer than policy allows
)

// Statuses lists every valid status, in report order.
var Statuses = []string{StatusPassed, StatusFailed, StatusNA, StatusUnreachable, StatusPending}

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// TPM families a host may report.
const (
	TPMFamily20   = "2.0"
	TPMFamily12   = "1.2"
	TPMFamilyNone = "none"
)

// API token roles, weakest first.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// ReasonUnreachable is the reason code MarkUnreachable records.
const ReasonUnreachable = "host.unreachable"

// EventStatusChanged is the webhook event MarkUnreachable queues; callers of
// RecordAttestation are expected to use it too.
const EventStatusChanged = "host.status_changed"

// Group is a set of hosts sharing one policy (a cluster).
type Group struct {
	Name      string
	Policy    []byte // the group's policy as YAML; the store does not parse it
	CreatedAt time.Time
	UpdatedAt time.Time
	// PolicyVersion is the version Policy is among PolicyVersions (set by
	// the store; 0 only for a group written before versions existed and
	// not migrated).
	PolicyVersion int
}

// PolicyVersion is one version of a group's policy. Every put of a policy
// appends one, numbered from 1 per group; none is ever changed or removed
// while the group exists (a rollback appends the old YAML again).
type PolicyVersion struct {
	Group   string
	Version int    // set by the store
	Policy  []byte // YAML, as stored
	Author  string // the actor who put it ("" when unknown)
	At      time.Time
	Comment string
}

// ClockInfo is the TPM clock state of the last accepted quote (TPMS_CLOCK_INFO
// minus the safe flag), kept so that an older quote can be refused as a replay.
type ClockInfo struct {
	Clock        uint64
	ResetCount   uint32
	RestartCount uint32
}

// Host is one enrolled machine and its latest judgement.
type Host struct {
	Name      string // unique key
	Group     string
	TPMFamily string // TPMFamily20, TPMFamily12 or TPMFamilyNone

	EKPublic         []byte // the endorsement key's public area, as enrolled
	EKDigest         string // hex SHA-256 of EKPublic, indexed for GetHostByEK
	EKCert           []byte // DER, may be empty when the operator pinned the key
	AKPublic         []byte // the attestation key's public area
	ClientCertSHA256 string // hex SHA-256 of the agent's TLS client certificate
	EnrolledAt       time.Time

	Status       string // one of Statuses
	StatusSince  time.Time
	LastAttested *time.Time // nil: never attested
	LastSeen     *time.Time // last agent contact, nil: never
	ReasonCode   string     // first failing reason of the latest verdict
	Reason       string
	LastClock    ClockInfo

	// An EK change waiting for operator approval; empty when none.
	PendingEKPublic []byte
	PendingEKCert   []byte
	PendingEKAt     *time.Time

	AttestRequestedAt *time.Time // an operator asked for attestation now; nil: no request
}

// Credential is what a host's agent is known by: the TLS client
// certificate it authenticates with and the AK its quotes are checked with.
// An enrolment replaces both; a re-activation (a new AK proven in the same
// TPM) replaces the AK and keeps the certificate; an approved EK change
// clears both.
type Credential struct {
	ClientCertSHA256 string // hex SHA-256 of the agent's TLS client certificate
	AKPublic         []byte // the AK's public area; empty for a host without a TPM 2.0
}

// Credential returns the host's current credential.
func (h Host) Credential() Credential {
	return Credential{ClientCertSHA256: h.ClientCertSHA256, AKPublic: h.AKPublic}
}

// Equal reports whether c and o are the same credential (an empty AK and a
// nil one alike).
func (c Credential) Equal(o Credential) bool {
	return c.ClientCertSHA256 == o.ClientCertSHA256 && bytes.Equal(c.AKPublic, o.AKPublic)
}

// HostQuery selects, sorts and pages hosts for ListHosts. Empty fields do
// not filter.
type HostQuery struct {
	Status string
	Group  string
	Search string // case-insensitive substring of the host name
	Sort   string // one of HostSortColumns; "" sorts by name
	Desc   bool
	Limit  int // <= 0: no limit
	Offset int
}

// HostSortColumns are the values HostQuery.Sort accepts.
var HostSortColumns = []string{"name", "group", "tpm_family", "status", "status_since",
	"last_attested", "last_seen", "enrolled_at", "reason_code"}

// AttestSelector picks the hosts RequestAttest marks: one host, one group, or
// all. Exactly one must be set.
type AttestSelector struct {
	Host  string
	Group string
	All   bool
}

// Validate reports a selector that names none or more than one target.
func (s AttestSelector) Validate() error {
	n := 0
	if s.Host != "" {
		n++
	}
	if s.Group != "" {
		n++
	}
	if s.All {
		n++
	}
	if n != 1 {
		return fmt.Errorf("attest selector: set exactly one of host, group or all (got %d)", n)
	}
	return nil
}

// AttestationRecord is the outcome of one appraisal, recorded atomically by
// RecordAttestation.
type AttestationRecord struct {
	Host       string
	At         time.Time
	Status     string
	ReasonCode string
	Reason     string
	// Clock, when set, replaces the host's LastClock.
	Clock          *ClockInfo
	Evidence       []byte // JSON, opaque
	Verdict        []byte // JSON, opaque
	DurationMicros int64
	// VerdictSHA256, when set, names the blob among Blobs that holds the
	// verdict: a status change whose evidence is dropped (LimitEvidence,
	// RetainEvidence) keeps it, so that its verdict stays readable.
	VerdictSHA256 string
	// Blobs are large parts the Evidence refers to by SHA-256 instead of
	// holding them (an event log, bundle files). Each is stored once for
	// all hosts and records that send it, and kept while a latest evidence
	// or status change recorded with it remains (PruneBlobs removes the
	// rest). The store checks each hash when it first stores the blob.
	Blobs []Blob
	// Webhook is inserted into the outbox only when the status changed. The
	// caller fills Event and Payload; the store sets the rest.
	Webhook *WebhookDelivery
	// Nonce, when set, is the nonce the evidence answers. It is taken in
	// the same transaction as the verdict is recorded: nothing is recorded
	// unless it was issued to Host, is unexpired at At and was not used
	// before (ErrNotFound), and a nonce issued to another host is left
	// alone (ErrConflict). One write transaction per attestation instead
	// of two.
	Nonce []byte
	// Credential is the host's credential the verdict was judged with (the
	// certificate that named the host, the AK that checked its quotes):
	// nothing is recorded unless the host still has it
	// (ErrCredentialChanged). A host enrolled again or re-activated while
	// its evidence was appraised must not get a verdict judged with its old
	// AK. It is always checked: a record made without an agent names the
	// host's credential as read, like any other.
	Credential Credential
	// PolicyVersion is the version of the group's policy the verdict was
	// judged under (0: unknown), kept with the latest evidence and the
	// status change.
	PolicyVersion int
}

// Blob is content stored once by its SHA-256 (see AttestationRecord.Blobs).
type Blob struct {
	SHA256 string // lower-case hex SHA-256 of Data
	Data   []byte
}

// IsBlobHash reports whether h is spelled as a blob's SHA256 is: 64
// lower-case hex digits. Nothing else can name a stored blob.
func IsBlobHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// LatestEvidence is the most recent evidence and verdict of a host; one per
// host, replaced by every attestation.
type LatestEvidence struct {
	Host     string
	At       time.Time
	Evidence []byte
	Verdict  []byte
	// Status is the verdict's status ("" for verdicts recorded before it
	// was kept); the host's may have moved on (Unreachable).
	Status string
	// PolicyVersion is the version of the group's policy that judged it
	// (0: recorded before versions).
	PolicyVersion int
}

// HostEvidence is a host with its latest evidence, as ScanLatestEvidence
// streams them.
type HostEvidence struct {
	Host   Host
	Latest LatestEvidence
}

// StatusChange is one change of a host's status, with the evidence that
// caused it. History grows with changes, not with time, and its rows are
// kept for as long as the host exists; their evidence may be dropped
// (EvidenceDropped says why).
type StatusChange struct {
	ID         int64
	Host       string
	From, To   string
	At         time.Time
	ReasonCode string
	Reason     string
	Verdict    []byte
	Evidence   []byte // nil when the change had none or it was dropped
	// EvidenceBytes is what keeping the evidence costs the host: the
	// evidence and verdict as stored and the blobs this record was the
	// first to store. 0 when there is none.
	EvidenceBytes int64
	// EvidenceDropped is empty while the evidence is kept, else one of the
	// Dropped* reasons.
	EvidenceDropped string
	// PolicyVersion is the policy version the verdict was judged under (0:
	// none judged it, as for Unreachable, or recorded before versions).
	PolicyVersion int
}

// Why a status change's evidence was dropped (StatusChange.EvidenceDropped).
const (
	DroppedHostCap   = "evidence dropped: host over its storage cap"
	DroppedHostRate  = "evidence dropped: host over its rate of full evidences"
	DroppedRetention = "evidence dropped: older than the history retention"
	DroppedFleetCap  = "evidence dropped: history over its storage cap"
)

// EvidenceLimits bound the status-change evidence one host keeps
// (LimitEvidence). A zero field does not limit.
type EvidenceLimits struct {
	// MaxBytes caps the host's kept evidence (StatusChange.EvidenceBytes).
	MaxBytes int64
	// PerWindow is how many status changes within Window keep their
	// evidence.
	PerWindow int
	Window    time.Duration
}

// AttestationSummary is a small row per attestation, for rates and trends,
// or a roll-up of a host's attestations with one status in one hour, which
// RollUpSummaries makes of the older ones; removed by PruneSummaries after
// the retention period.
type AttestationSummary struct {
	Host           string
	At             time.Time // when recorded; for a roll-up, the start of its hour
	Status         string
	ReasonCode     string // for a roll-up, that of its last attestation
	DurationMicros int64  // the verifier's time; for a roll-up, the total
	// Period is 0 for one attestation and time.Hour for a roll-up.
	Period time.Duration
	// Count is how many attestations the summary stands for: 1, or a
	// roll-up's. The minimum and maximum durations and the last
	// attestation's time are those of the one attestation for Count 1.
	Count             int64
	MinDurationMicros int64
	MaxDurationMicros int64
	LastAt            time.Time
}

// JoinToken lets one new host enrol into a group. It is single use and
// expires. Only a hash of its secret is stored.
type JoinToken struct {
	ID         string
	SecretHash []byte
	Group      string
	Host       string // optional: the only host name this token may enrol
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
	UsedBy     string
}

// APIToken authenticates an API client. Only a hash of its secret is stored.
type APIToken struct {
	ID         string
	Name       string
	SecretHash []byte
	Role       string // RoleViewer, RoleOperator or RoleAdmin
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// AuditEntry records who did what to which object.
type AuditEntry struct {
	ID     int64 // assigned by the store
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

// Nonce is a fresh value the verifier issued for one host's quote. It is
// single use.
type Nonce struct {
	Value     []byte // unique
	Host      string
	ExpiresAt time.Time
}

// Challenge is an enrolment credential-activation challenge waiting for the
// host's answer. It is single use.
type Challenge struct {
	ID         string
	Host       string
	Group      string
	Request    []byte // the enrol request JSON, opaque
	SecretHash []byte
	ExpiresAt  time.Time
}

// WebhookDelivery is one event in the webhook outbox.
type WebhookDelivery struct {
	ID            int64 // assigned by the store
	Event         string
	Payload       []byte
	CreatedAt     time.Time
	Attempts      int // claims so far
	NextAttemptAt time.Time
	DeliveredAt   *time.Time
	LastError     string
	LeaseOwner    string
	LeaseUntil    *time.Time
}

// HostPin is the value of one per-host component class pinned on a host
// (policy per_host): the digests of its components of that class in Bank,
// sorted, each once.
type HostPin struct {
	Host       string
	Class      string
	Bank       string
	Digests    []string
	Since      time.Time
	AcceptedBy string // "" when the verifier pinned a first Passed boot
}
