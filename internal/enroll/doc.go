// Package enroll holds the verifier's checks when a host enrols: is its
// endorsement key (EK) genuine, and does its attestation key (AK) live in
// the same TPM.
//
//   - VerifyEKCert checks an EK certificate against a TrustStore of TPM
//     makers' CAs (roots and intermediates), handling the quirks of real
//     maker chains deliberately (see ekcert.go); PinnedEK lets an operator
//     vouch for an EK by the hash of its public key instead.
//   - MakeChallenge builds a TPM2 credential-activation challenge (TPM 2.0
//     Part 1 §24, MakeCredential in software) that only the TPM holding both
//     the EK and the AK can answer; VerifyActivation checks the answer.
//
// What it trusts: the certificates in the TrustStore and the pins the
// operator configured, nothing the host sends. Everything from the host
// (EK public area, EK certificate, AK public area) is parsed strictly and
// checked. It is pure: no network, no storage, no logging, and no clock
// (the time of the check is passed in).
package enroll
