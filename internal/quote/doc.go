// Package quote decodes the TPM 2.0 structures a quote is made of -
// TPMS_ATTEST, TPMT_SIGNATURE and the attestation key's TPMT_PUBLIC -
// without reflection, and verifies a quote's signature.
//
// The decoders are strict: each takes exactly one structure, checks every
// length against the bytes left before slicing, refuses trailing bytes and
// the values a quote's structures never hold, and says in its error which
// field at which byte offset was wrong (see ParseError). They agree with
// go-tpm's reflective tpm2.Unmarshal on every input both accept; the tests
// check that differentially, and list the inputs go-tpm accepts that these
// decoders refuse on purpose.
//
// Byte slices in the decoded values alias the input: they are cheap to
// return and stay valid as long as the caller keeps the input unchanged.
// Copy them before changing the input buffer.
//
// The package is pure: no I/O, no clock, no logging.
package quote
