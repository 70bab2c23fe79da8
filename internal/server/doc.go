// Package server assembles `bootproof verifier`: it opens the store, loads
// or makes the verifier's CA and trust-token key (kept in the store so that
// replicas share them), wires the verifier, the API, the report and the
// metrics behind one TLS listener, and runs the periodic tasks. The first
// task to fail stops them all.
package server
