package enroll

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// PinnedEK is an operator's pin of one EK: the SHA-256 of the EK public
// key's DER SubjectPublicKeyInfo. That is the hash an operator can compute
// from either side: from the TPM (tpm2_readpublic -f der, or `bootproof`'s
// own output) or from an EK certificate (openssl x509 -pubkey | openssl pkey
// -pubin -outform der | sha256sum). A pin replaces the certificate check for
// TPMs without an EK certificate (many vTPMs) or from makers not in the
// trust store; it does not replace credential activation.
type PinnedEK [sha256.Size]byte

// PinEK computes the pin of an EK public area (TPMT_PUBLIC).
func PinEK(ekPub []byte) (PinnedEK, error) {
	p, err := ParsePublic(ekPub)
	if err != nil {
		return PinnedEK{}, fmt.Errorf("pin ek: %w", err)
	}
	key, err := tpm2.Pub(*p)
	if err != nil {
		return PinnedEK{}, fmt.Errorf("pin ek: %w: %v", ErrBadEK, err)
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return PinnedEK{}, fmt.Errorf("pin ek: %w: %v", ErrBadEK, err)
	}
	return sha256.Sum256(der), nil
}

// String spells the pin as configuration files do: "sha256:" and hex.
func (p PinnedEK) String() string { return "sha256:" + hex.EncodeToString(p[:]) }

// ParsePinnedEK reads a pin as String spells it; the "sha256:" prefix is
// optional, hex is case-insensitive.
func ParsePinnedEK(s string) (PinnedEK, error) {
	var p PinnedEK
	h := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(p) {
		return p, fmt.Errorf("parse ek pin %q: want sha256: and 64 hex digits", s)
	}
	copy(p[:], b)
	return p, nil
}

// VerifyPinnedEK accepts ekPub when one of pins is its pin.
func VerifyPinnedEK(ekPub []byte, pins []PinnedEK) error {
	p, err := PinEK(ekPub)
	if err != nil {
		return err
	}
	for _, q := range pins {
		if q == p {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNotPinned, p)
}

// VerifyEK accepts an EK that an operator pinned, or else one whose
// certificate VerifyEKCert accepts. A host without a certificate and
// without a pin is refused with ErrNotPinned.
func VerifyEK(ekPub, cert []byte, trust *TrustStore, pins []PinnedEK, now time.Time) error {
	pinErr := VerifyPinnedEK(ekPub, pins)
	if pinErr == nil {
		return nil
	}
	if len(cert) == 0 {
		return fmt.Errorf("verify ek: no ek certificate and %w", pinErr)
	}
	return VerifyEKCert(cert, ekPub, trust, now)
}
