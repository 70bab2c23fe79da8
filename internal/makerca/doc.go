// Package makerca is the certificate authority of the emulated TPM maker,
// "bootproof emulated TPM maker": the role Infineon, Nuvoton or STM play for
// real chips. It issues EK certificates shaped as the TCG EK Credential
// Profile says makers issue them, so the verifier checks emulated hosts'
// EKs with the same code, and the same quirks, as real ones.
//
// It trusts its own key, kept as PEM files in one directory, and nothing
// else. A verifier trusts it only when an operator adds its certificate
// (CertPEM) to the verifier's EK trust store; it is for demos, tests and
// load, never for production hosts.
package makerca
