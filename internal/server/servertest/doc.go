// Package servertest runs a whole verifier in the test process: the real
// server (server.Open on SQLite in a temporary directory) behind an
// httptest TLS listener with the server's own TLS configuration, its
// background tasks (sweeper, attest-now wake-ups, webhook delivery), an
// emulated TPM maker CA it trusts, and API tokens of every role. Tests of
// the API, the agent, the report and the gate use it instead of fakes.
//
// It trusts nothing of its callers: it only starts and stops the server.
package servertest
