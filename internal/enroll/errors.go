package enroll

import "errors"

// Errors a caller branches on. Every error returned wraps one of them with
// the details (which certificate, which field); test with errors.Is.
var (
	// ErrMalformed: the host sent bytes that do not parse as what they claim.
	ErrMalformed = errors.New("malformed")
	// ErrUntrustedCA: the EK certificate does not chain to a trusted maker CA.
	ErrUntrustedCA = errors.New("untrusted ca")
	// ErrExpired: a certificate is outside its validity period.
	ErrExpired = errors.New("certificate expired")
	// ErrKeyMismatch: the EK certificate certifies another key than the EK.
	ErrKeyMismatch = errors.New("ek certificate is for another key")
	// ErrNotEKCert: the certificate is not an EK certificate (a CA, or an
	// extended key usage without tcg-kp-EKCertificate).
	ErrNotEKCert = errors.New("not an ek certificate")
	// ErrBadAK: the AK is not a restricted, TPM-resident signing key.
	ErrBadAK = errors.New("ak refused")
	// ErrBadEK: the EK public area is not a TPM storage (decryption) key.
	ErrBadEK = errors.New("ek refused")
	// ErrNotPinned: no operator pin matches the EK.
	ErrNotPinned = errors.New("ek not pinned")
	// ErrActivation: the host's answer to the credential challenge is wrong.
	ErrActivation = errors.New("credential activation failed")
)
