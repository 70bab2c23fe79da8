// Package tpm is the attester's access to its TPM 2.0: open a device (the
// Linux kernel's resource manager, the TCG reference TPM simulated in
// process, or swtpm over TCP), read and extend PCR banks, make the
// endorsement key (EK) and an attestation key (AK), quote PCRs and answer a
// verifier's credential-activation challenge.
//
// What it trusts: the TPM it talks to, and nothing else. It makes no
// judgement about the values the TPM returns; it hands them, with the TPM's
// signatures, to a verifier, which alone decides (package enroll and the
// appraisal code). A TPM 1.2 is recognised as such (Family) and never treated
// as a broken TPM 2.0: it cannot attest in bootproof.
//
// Every command uses go-tpm's tpm2 API. A Device serialises its commands, so
// one Device may be shared by goroutines.
package tpm
