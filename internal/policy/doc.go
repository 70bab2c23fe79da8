// Package policy is a host group's policy: what the verifier requires of a
// host's boot (Secure Boot, reference values for firmware, boot loader,
// kernel, boot options and modules, Secure Boot variables, trusted bundle
// roots and the minimum acceptance level) and how the fleet is run around it
// (the attestation interval, when a silent host becomes Unreachable, how old
// a verdict may be for enforcement, enforcement mode).
//
// A policy is written by operators in YAML, read strictly (an unknown key is
// an error naming its line), or learned from a golden host's verified boot
// (Learn). The package trusts its caller for the policy's content: it checks
// that a policy is well formed (Validate), not that its reference values are
// right.
//
// It is pure: no network, no storage, no logging, no clock.
package policy
