// Package bundle reads, writes, signs and verifies signed software bundles,
// bootproof's counterpart of ESXi's VIBs: a descriptor (name, version,
// vendor, acceptance level and the digests of each boot-time payload), a
// signature over it, and the X.509 chain of the signer, leaf first.
//
// What it trusts: only the root certificates a caller passes to Verify and
// the time it passes with them. A bundle file is untrusted input: Parse
// checks its shape and bounds only; nothing in it is believed until Verify
// has checked the signature with the leaf certificate, the leaf's right to
// sign code (KeyUsage digitalSignature and ExtKeyUsage codeSigning) and the
// chain to one of the roots at that time; payload bytes are believed only
// after VerifyPayloads matched their size, SHA-256 and SHA-512.
//
// Keys are Ed25519 (RFC 8032): signatures are deterministic and a key can
// be derived from a seed, so an emulated fleet keeps stable identities; Go's
// crypto/x509 signs and verifies Ed25519 certificates (RFC 8410). Verify also
// accepts ECDSA P-256 leaves, for vendors whose PKI cannot issue Ed25519.
//
// The file format is one JSON object (see Envelope); the descriptor is kept
// as the exact bytes that were signed, base64-encoded, so re-indenting the
// file cannot break the signature.
//
// It is pure: no network, no storage, no logging, no clock (time is passed in).
package bundle
