package web

import (
	"context"
	"errors"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// Host statuses, as the brief defines them. The report shows them in this
// order in the counts at the top of the fleet page.
const (
	StatusPassed      = "Passed"
	StatusFailed      = "Failed"
	StatusNA          = "N/A"
	StatusUnreachable = "Unreachable"
	StatusPending     = "Pending"
)

// Statuses lists every status in display order.
var Statuses = []string{StatusPassed, StatusFailed, StatusNA, StatusUnreachable, StatusPending}

// StatusRank orders statuses by how urgently an operator must look at them:
// Failed first, Passed last, unknown statuses after all known ones. Sorting
// the fleet by status uses this order, not the alphabet.
func StatusRank(status string) int {
	switch status {
	case StatusFailed:
		return 0
	case StatusUnreachable:
		return 1
	case StatusPending:
		return 2
	case StatusNA:
		return 3
	case StatusPassed:
		return 4
	}
	return 5
}

// ErrNotFound is what Source.Host and the Actions return, wrapped, when no
// host has the name asked for. The report answers 404.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is what Authenticator.Authenticate returns, wrapped, when
// it could not check the token at all (the verifier cannot read its
// store). The token may be valid: the report answers 503 and keeps the
// browser signed in.
var ErrUnavailable = errors.New("the verifier cannot check sign-ins now")

// ErrInvalidToken is what Authenticator.Authenticate returns, wrapped, when
// the token is unknown, expired or revoked. Any other error is a fault of the
// verifier and the report answers 500.
var ErrInvalidToken = errors.New("invalid token")

// Source is what the report reads. The verifier implements it over its store.
type Source interface {
	// Fleet returns one page of hosts matching q, sorted as q says, plus the
	// counts and the list of groups. See FleetPage for what each field covers.
	Fleet(ctx context.Context, q FleetQuery) (FleetPage, error)
	// Host returns one host in full, or an error wrapping ErrNotFound.
	Host(ctx context.Context, name string) (HostDetail, error)
	// LatestChange returns when anything shown in the fleet view last
	// changed (a status change, a new host); zero when nothing ever did.
	// The browser polls it to refresh the fleet view only when needed.
	LatestChange(ctx context.Context) (time.Time, error)
}

// Actions are the operator's buttons on a host page. actor is the signed-in
// Principal's Name, for the verifier's audit trail. Both return an error
// wrapping ErrNotFound when the host is unknown.
type Actions interface {
	// AttestNow asks the verifier to challenge the host at once.
	AttestNow(ctx context.Context, actor, host string) error
	// PreviewLearn says what taking the host's latest boot as its group's
	// reference values would change, or why the boot cannot be one
	// (LearnPreview.Blocking); it changes nothing.
	PreviewLearn(ctx context.Context, actor, host string) (LearnPreview, error)
	// ApplyLearn makes that change, if the group's policy is still the
	// version previewed; else it returns an error wrapping
	// ErrPolicyChanged, or ErrNotAReference when the host's latest boot
	// can no longer be a reference, and changes nothing.
	ApplyLearn(ctx context.Context, actor, host, version string) error
}

// Authenticator checks an API token, from the sign-in cookie or from an
// "Authorization: Bearer" header, on every request.
type Authenticator interface {
	// Authenticate returns who holds token, or an error wrapping
	// ErrInvalidToken, or ErrUnavailable when it cannot tell.
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Roles, weakest first. Reading the report needs RoleViewer; the buttons
// need RoleOperator.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Principal is who made a request.
type Principal struct {
	Name string // shown in the page header and passed to Actions as the actor
	Role string // RoleViewer, RoleOperator or RoleAdmin; anything else may read nothing
}

// Can reports whether p's role is at least min.
func (p Principal) Can(min string) bool {
	r, m := roleRank(p.Role), roleRank(min)
	return r > 0 && m > 0 && r >= m
}

func roleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// HostRow is one line of the fleet table.
type HostRow struct {
	Name         string
	Group        string
	TPMFamily    string     // "2.0", "1.2" or "none"
	Status       string     // one of Statuses
	Since        time.Time  // when the host entered Status
	LastAttested *time.Time // nil when the host never attested
	// Reason is the host's stored headline in plain words ("" when the
	// host passed): for a Failed host the verdict's ranked first reason, the
	// same one the CLI report, webhooks and the gate show; otherwise why
	// the host is N/A, Unreachable or Pending. ReasonCode is its code.
	Reason     string
	ReasonCode string
	// TrustLevel is a Passed host's trust level: "secure_boot_only" when
	// its group constrains no component (the badge then says so),
	// "references" otherwise; "" unless Passed.
	TrustLevel string
	// PlacementAllowed says whether the placement gate lets workloads start
	// on or migrate to this host; PlacementReason says why.
	PlacementAllowed bool
	PlacementReason  string
	// StaleSince, when not zero, is when the host's group's limit
	// (interval × unreachable_after) ran out with no evidence from it, its
	// Status not yet Unreachable: the verifier could not record that (its
	// store takes no writes). The report then shows the host as stale,
	// never its old Passed as current.
	StaleSince time.Time
}

// StoreState is what the report says about the verifier's store: when it
// cannot be written, every page carries a banner saying how old its data
// may be.
type StoreState struct {
	Writable  bool
	Problem   string    // a sentence, e.g. "the verifier cannot write its store"
	LastWrite time.Time // the last successful write; zero when unknown
}

// HostDetail is everything the host page shows.
type HostDetail struct {
	HostRow
	Checks []Check // the latest verdict's checks, in the verifier's order
	// PolicyVersion is the version of the group's policy the latest
	// verdict was judged under; 0 when unknown (recorded before versions).
	PolicyVersion int
	// SecureBoot, Components and NotJudged are the latest verdict's own
	// (appraisal.Verdict), worded on the page by package bootview as
	// `bootproof hosts show` words them. SecureBoot is nil when the host
	// never sent a readable PCR 7 log.
	SecureBoot *appraisal.SecureBoot
	Components policy.Components
	NotJudged  []appraisal.Measurement
	// PCRs are the quoted values: bank ("sha256") -> PCR index -> hex digest.
	PCRs    map[string]map[int]string
	Bundles []BundleView
	History []HistoryEntry // status changes, any order; the page shows newest first
}

// Check is one check of a verdict. For a failure that concerns one event,
// the report shows Expected (the reference) beside Found (this host's boot).
type Check struct {
	Code       string // stable code, e.g. "reference.kernel_mismatch"
	Passed     bool
	Message    string // one sentence in plain words
	Component  string // "kernel", "boot loader", a bundle name; "" when n/a
	Bank       string // "sha256"; "" when n/a
	PCR        int    // -1 when n/a
	EventIndex int    // index in the event log; -1 when n/a
	Expected   string // reference digest or value, several separated by "\n"; "" when n/a
	Found      string // what this host measured; "" when n/a
}

// BundleView is one installed bundle (the role of an ESXi VIB).
type BundleView struct {
	Name       string
	Version    string
	Vendor     string
	Acceptance string // certified, accepted, partner or community
	Signature  string // e.g. "valid (chains to Example Vendor Root)" or "invalid: ..."
}

// HistoryEntry is one status change.
type HistoryEntry struct {
	At         time.Time
	From, To   string // statuses; From is "" for the first entry
	ReasonCode string // the first failing check's code, if any
	Reason     string
	// EvidenceDropped says why the evidence behind the change is no longer
	// kept; empty while it is.
	EvidenceDropped string
}

// FleetQuery is what the fleet view asks the Source for. The zero value of
// each filter means "any".
type FleetQuery struct {
	Status   string // one of Statuses, or ""
	Group    string // exact group name, or ""
	Search   string // case-insensitive substring of the host name, or ""
	Sort     string // one of SortColumns; "" means SortStatus
	Desc     bool   // reverse the order; ties are always broken by name ascending
	Page     int    // 1-based
	PageSize int    // rows per page, > 0
}

// Sort columns, as they appear in the URL.
const (
	SortName      = "name"
	SortGroup     = "group"
	SortTPM       = "tpm"
	SortStatus    = "status" // by StatusRank: Failed first
	SortSince     = "since"
	SortAttested  = "attested" // never-attested hosts first
	SortReason    = "reason"
	SortPlacement = "placement" // denied first
)

// SortColumns lists every sort column in the order of the table's columns.
var SortColumns = []string{SortName, SortGroup, SortTPM, SortStatus, SortSince, SortAttested, SortReason, SortPlacement}

// FleetPage is the Source's answer to a FleetQuery.
type FleetPage struct {
	// Counts maps each status to the number of hosts that match every
	// filter of the query except Status, so that a count is exactly the
	// number of rows its link shows. With no filters, it covers the fleet.
	Counts map[string]int
	Groups []string  // every group in the fleet, for the group filter
	Rows   []HostRow // the requested page, in the requested order
	Total  int       // hosts matching every filter, over all pages
}
