// Package verifier is bootproof's judge as a service, without HTTP: it
// enrols hosts (join token, EK trust, credential activation), issues nonces,
// appraises evidence with package appraisal under the host group's policy,
// records every verdict and every status change, marks silent hosts
// Unreachable, and answers placement questions and trust-token requests.
//
// Any number of verifier replicas may share one store: every piece of state
// an agent's next request depends on (nonces, challenges, attest-now
// requests) lives in the store, and periodic work is claimed with leases.
package verifier
