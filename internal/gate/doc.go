// Package gate is the placement gate: it answers, on a host, whether a
// workload may start on or migrate to that host, and adapts that answer to
// libvirt's qemu hook contract.
//
// What it trusts: the verifier's placement answer, read over TLS
// authenticated by the configured verifier CA; and, only while the verifier
// cannot be reached, a cached trust token that verifies offline against a
// pinned key (signature, issuer, audience, validity window, subject equal
// to this host, placement "allow"). It never trusts the host's own view of
// its boot, never fetches a key at decision time, and fails closed unless
// the operator configured fail-open.
//
// Every network call is bounded by a short timeout so that libvirt, which
// waits for its hooks, is never hung by the gate.
package gate
