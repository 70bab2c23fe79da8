// Package emutest appraises the evidence of every emulated host profile
// (internal/emuhost booted on the TCG reference TPM through internal/tpm):
// the whole attester-to-verdict path, without the network. It holds only
// tests; it lives apart from package appraisal because the reference TPM is
// one per process and package appraisal's own tests drive it directly.
package emutest
