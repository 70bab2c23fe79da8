// Package store declares what the verifier keeps: the Store interface, its
// records (hosts, groups, evidence, history, tokens, nonces, the webhook
// outbox, leases) and the sentinel errors callers branch on.
//
// Store is a seam with two implementations (SQLite and PostgreSQL, in
// internal/store/sqlstore), bound to the same behaviour by the conformance
// suite in internal/store/storetest.
//
// The store trusts its callers: it records what the verifier decided and
// does not judge evidence. JSON and YAML blobs (evidence, verdicts, policies,
// webhook payloads) are opaque bytes it never interprets. Times are passed in
// by the caller and kept in UTC with microsecond precision.
//
// It is pure: no network, no SQL, no logging, no clock.
package store
