// Package trusttoken issues and verifies signed trust tokens: short-lived
// statements by the verifier that a host had a given status, appraised at a
// given time under a given policy. A relying party (the placement gate, a
// scheduler) verifies them offline with the verifier's public key.
//
// Tokens are compact JWS (RFC 7515) with ES256 signatures (RFC 7518 §3.4),
// so standard JWT libraries can read them too. Verification checks the
// algorithm, the key ID, the signature, the issuer, the audience when given,
// and the validity window; nothing in an unverified token is returned.
//
// It is pure: no network, no storage, no clock (time is passed in).
package trusttoken
