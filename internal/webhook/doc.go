// Package webhook delivers status-change events to operators' endpoints.
// Events are written to an outbox in the store in the same transaction as
// the status change, then claimed with a lease and POSTed, signed with
// HMAC-SHA256, and retried with exponential backoff until the endpoint
// answers 2xx: delivery is at least once, across restarts and replicas.
package webhook
