package store

import (
	"context"
	"time"
)

// Store is everything the verifier keeps. Implementations are safe for
// concurrent use, and several verifier replicas may share one PostgreSQL
// store: every method that must be atomic across replicas says so.
type Store interface {
	Close() error

	// PutGroup creates the group or replaces its policy (CreatedAt is kept
	// from the first put). It appends the policy as a new version, with no
	// author, as PutPolicy does.
	PutGroup(ctx context.Context, g Group) error
	// PutPolicy appends pv as the group's next version (creating the group)
	// and makes it the group's policy, in one transaction: concurrent puts
	// on any replica get distinct versions. It returns pv as stored.
	PutPolicy(ctx context.Context, pv PolicyVersion) (PolicyVersion, error)
	// PolicyVersions lists a group's versions, newest first, without their
	// YAML (ErrNotFound when the group does not exist).
	PolicyVersions(ctx context.Context, group string) ([]PolicyVersion, error)
	GetPolicyVersion(ctx context.Context, group string, version int) (PolicyVersion, error) // ErrNotFound
	GetGroup(ctx context.Context, name string) (Group, error)                               // ErrNotFound
	ListGroups(ctx context.Context) ([]Group, error)                                        // by name
	// DeleteGroup removes an empty group and its policy versions:
	// ErrConflict while hosts remain in it, ErrNotFound when absent.
	DeleteGroup(ctx context.Context, name string) error

	CreateHost(ctx context.Context, h Host) error                   // ErrConflict if the name exists
	GetHost(ctx context.Context, name string) (Host, error)         // ErrNotFound
	GetHostByEK(ctx context.Context, ekDigest string) (Host, error) // ErrNotFound
	// UpdateHost reads the host, lets fn change it and writes it back in one
	// transaction (the row is locked on PostgreSQL). fn may not rename the
	// host. If fn returns an error nothing is written and that error is
	// returned. It writes no history: status changes go through
	// RecordAttestation and MarkUnreachable.
	UpdateHost(ctx context.Context, name string, fn func(*Host) error) (Host, error)
	// DeleteHost removes the host with its evidence, history and summaries.
	DeleteHost(ctx context.Context, name string) error
	// ListHosts returns one page of the hosts q selects and how many it
	// selects in all.
	ListHosts(ctx context.Context, q HostQuery) ([]Host, int, error)
	// CountByStatus counts hosts per status, in one group or ("") in all.
	// Every status in Statuses is present, with 0 when no host has it.
	CountByStatus(ctx context.Context, group string) (map[string]int, error)

	// RecordAttestation records an appraisal in one transaction: it updates
	// the host (status, and StatusSince when it changed; LastAttested and
	// LastSeen = At; reasons; LastClock when given; it clears an attest
	// request made at or before At), replaces the latest evidence, inserts a
	// summary and, only when the status changed, a StatusChange and the
	// webhook delivery; it stores the record's Blobs not yet stored. It
	// reports whether the status changed. It writes nothing when the host
	// no longer has r.Credential (ErrCredentialChanged), checked under the
	// host's row lock so that no re-enrolment can come in between.
	RecordAttestation(ctx context.Context, r AttestationRecord) (changed bool, err error)
	// MarkUnreachable moves to Unreachable every host not yet Unreachable
	// whose last contact (the later of LastSeen and LastAttested, or
	// EnrolledAt when it has had none) is before its group's cutoff
	// (cutoffByGroup, else defaultCutoff). Each move writes a StatusChange
	// and, when webhookPayload is non-nil and returns a payload, an
	// EventStatusChanged webhook delivery; webhookPayload is given the host
	// as it was before the move (its Status is the old one). It returns the
	// names moved, in name order.
	MarkUnreachable(ctx context.Context, cutoffByGroup map[string]time.Time, defaultCutoff, now time.Time,
		webhookPayload func(Host) []byte) ([]string, error)
	LatestEvidence(ctx context.Context, host string) (LatestEvidence, error) // ErrNotFound
	// ScanLatestEvidence returns up to limit hosts of group ("" for all)
	// that have a latest evidence, with it, in name order after the host
	// named after: a page of a stream that never holds a fleet's evidence
	// at once.
	ScanLatestEvidence(ctx context.Context, group, after string, limit int) ([]HostEvidence, error)
	// PutPins stores the pinned values of per-host classes in one
	// transaction. With replace an existing pin of the same host and class
	// is overwritten (an operator's accept); without, it is kept, so that
	// the first boot to pin a value wins (ErrNotFound when a host is gone).
	PutPins(ctx context.Context, pins []HostPin, replace bool) error
	// HostPins returns a host's pinned values, by class.
	HostPins(ctx context.Context, host string) ([]HostPin, error)
	// GetBlobs returns the stored blobs among hashes, by hash; a hash not
	// stored (never, or pruned) is absent from the map.
	GetBlobs(ctx context.Context, hashes []string) (map[string][]byte, error)
	// PruneBlobs deletes the blobs no latest evidence and no status change
	// refers to any more; it returns how many. It is safe beside concurrent
	// RecordAttestation calls, on every replica.
	PruneBlobs(ctx context.Context) (int64, error)
	// LimitEvidence drops the evidence of host's status changes, oldest
	// first and never that of its newest change with evidence: those
	// beyond the newest lim.PerWindow recorded within lim.Window before now
	// (DroppedHostRate), then while the host's kept EvidenceBytes exceed
	// lim.MaxBytes (DroppedHostCap). A dropped change keeps its row, reasons
	// and verdict (its VerdictSHA256 blob); the blobs no record refers to
	// any more are deleted at once. It returns how many it dropped and is
	// safe beside concurrent RecordAttestation calls, on every replica.
	LimitEvidence(ctx context.Context, host string, lim EvidenceLimits, now time.Time) (int, error)
	// RetainEvidence does the same across the fleet: it drops the evidence
	// of status changes recorded before `before` (DroppedRetention), then,
	// oldest first, while all kept EvidenceBytes exceed maxBytes (0: no cap;
	// DroppedFleetCap), never that of a host's newest change with evidence.
	RetainEvidence(ctx context.Context, before time.Time, maxBytes int64) (int, error)
	// History returns a host's status changes, newest first.
	History(ctx context.Context, host string, limit, offset int) ([]StatusChange, error)
	// Summaries returns up to limit (<= 0: all) of a host's summaries,
	// newest first: one per attestation at or after since, then the hourly
	// roll-ups of older attestations (RollUpSummaries) whose hour ends after
	// since.
	Summaries(ctx context.Context, host string, since time.Time, limit int) ([]AttestationSummary, error)
	// RollUpSummaries folds the per-attestation summaries older than before
	// into one roll-up per host, UTC hour and status, merging into the
	// hour's roll-up when one exists (an hour may be folded in several
	// goes), and deletes them. It works oldest first in batches, a
	// transaction each, so that writers wait for one batch at most. It
	// returns how many it folded.
	RollUpSummaries(ctx context.Context, before time.Time) (int64, error)
	// PruneSummaries deletes the per-attestation summaries older than before
	// and the roll-ups of hours that ended at or before it; it returns how
	// many rows of either kind it deleted.
	PruneSummaries(ctx context.Context, before time.Time) (int64, error)

	// RequestAttest marks the selected hosts for attestation now and returns
	// how many it marked (ErrNotFound for a named host that does not exist).
	RequestAttest(ctx context.Context, sel AttestSelector, at time.Time) (int, error)
	// AttestRequestedSince lists hosts with an open attest request made at
	// or after since, by name.
	AttestRequestedSince(ctx context.Context, since time.Time) ([]string, error)

	// PutNonce stores a nonce (ErrConflict if the value exists). TakeNonce
	// deletes and returns it; exactly one caller wins. ErrNotFound when it
	// is absent, taken or expired at now.
	PutNonce(ctx context.Context, n Nonce) error
	TakeNonce(ctx context.Context, value []byte, now time.Time) (Nonce, error)
	// PutChallenge and TakeChallenge are the same for enrolment challenges.
	PutChallenge(ctx context.Context, c Challenge) error
	TakeChallenge(ctx context.Context, id string, now time.Time) (Challenge, error)

	CreateJoinToken(ctx context.Context, t JoinToken) error // ErrConflict
	// UseJoinToken marks the token used by usedBy; exactly one caller wins.
	// ErrNotFound, ErrExpired (at now) or ErrUsed otherwise. It does not
	// check JoinToken.Host: the caller compares it with the enrolling host.
	UseJoinToken(ctx context.Context, id, usedBy string, now time.Time) (JoinToken, error)
	// CheckJoinToken returns the token if UseJoinToken could spend it at
	// now, with UseJoinToken's errors otherwise; it changes nothing. An
	// enrolment checks its token when it starts and spends it only when
	// credential activation succeeds, so a refused enrolment spends nothing.
	CheckJoinToken(ctx context.Context, id string, now time.Time) (JoinToken, error)
	ListJoinTokens(ctx context.Context) ([]JoinToken, error) // newest first

	CreateAPIToken(ctx context.Context, t APIToken) error         // ErrConflict
	GetAPIToken(ctx context.Context, id string) (APIToken, error) // ErrNotFound
	ListAPITokens(ctx context.Context) ([]APIToken, error)        // oldest first
	// RevokeAPIToken sets RevokedAt unless already revoked (ErrNotFound).
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error

	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns one page of entries, newest first, and the total.
	ListAudit(ctx context.Context, limit, offset int) ([]AuditEntry, int, error)

	// ClaimDeliveries leases up to limit undelivered deliveries that are due
	// at now and not leased by anyone, to owner until now+lease, counting an
	// attempt for each. A delivery is never leased to two owners at once.
	// EnqueueDelivery adds an event other than a status change to the outbox.
	EnqueueDelivery(ctx context.Context, d WebhookDelivery) error
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	// CompleteDelivery marks a delivery delivered and releases its lease.
	CompleteDelivery(ctx context.Context, id int64, at time.Time) error
	// FailDelivery records the error, schedules the next attempt and
	// releases the lease.
	FailDelivery(ctx context.Context, id int64, errMsg string, next time.Time) error

	// AcquireLease gives the named lease to owner until until, if it is free
	// at now or owner already holds it; it reports whether owner holds it.
	AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)

	GetKV(ctx context.Context, key string) ([]byte, error) // ErrNotFound
	// PutKVIfAbsent stores value unless key has one, and returns the value
	// stored (the first writer's, across replicas).
	PutKVIfAbsent(ctx context.Context, key string, value []byte) (stored []byte, err error)
}
