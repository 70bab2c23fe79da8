package enroll

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/google/go-tpm/tpm2"
)

// SecretSize is the size of the challenge secret: a SHA-256 digest's worth,
// the largest a TPM2B_DIGEST credential holds for an SHA-256 EK.
const SecretSize = 32

// ParsePublic parses a TPMT_PUBLIC the host sent. It is strict: the bytes
// must parse and re-marshal to exactly themselves, so nothing can hide after
// the structure or in a non-canonical encoding.
func ParsePublic(b []byte) (*tpm2.TPMTPublic, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty TPMT_PUBLIC", ErrMalformed)
	}
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil {
		return nil, fmt.Errorf("%w: TPMT_PUBLIC: %v", ErrMalformed, err)
	}
	if re, err := marshalPublic(p); err != nil || !bytes.Equal(re, b) {
		return nil, fmt.Errorf("%w: TPMT_PUBLIC of %d bytes is not canonical (trailing or re-encoded bytes)", ErrMalformed, len(b))
	}
	return p, nil
}

// marshalPublic is tpm2.Marshal without its panic on structures that
// unmarshal but do not marshal back.
func marshalPublic(p *tpm2.TPMTPublic) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("re-marshal TPMT_PUBLIC: %v", r)
		}
	}()
	return tpm2.Marshal(p), nil
}

// CheckAK refuses an AK that is not a restricted signing key made in and
// bound to its TPM: restricted and sign set, decrypt clear (it signs only
// structures the TPM makes, such as quotes, and decrypts nothing), fixedTPM
// and fixedParent set (it can never be duplicated out), sensitiveDataOrigin
// set (the TPM generated it: nobody outside ever held the private key). A key
// without these could be a software key whose quotes prove nothing. Its
// name algorithm must be SHA-256 or stronger, since the name is what the
// challenge binds.
func CheckAK(ak *tpm2.TPMTPublic) error {
	a := ak.ObjectAttributes
	var missing []string
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{a.Restricted, "restricted"}, {a.SignEncrypt, "sign"}, {!a.Decrypt, "not decrypt"},
		{a.FixedTPM, "fixedTPM"}, {a.FixedParent, "fixedParent"}, {a.SensitiveDataOrigin, "sensitiveDataOrigin"},
	} {
		if !c.ok {
			missing = append(missing, c.what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: attributes lack %v", ErrBadAK, missing)
	}
	if ak.Type != tpm2.TPMAlgRSA && ak.Type != tpm2.TPMAlgECC {
		return fmt.Errorf("%w: key type 0x%04x, want RSA or ECC", ErrBadAK, uint16(ak.Type))
	}
	switch ak.NameAlg {
	case tpm2.TPMAlgSHA256, tpm2.TPMAlgSHA384, tpm2.TPMAlgSHA512:
	default:
		return fmt.Errorf("%w: name algorithm 0x%04x, want SHA-256 or stronger", ErrBadAK, uint16(ak.NameAlg))
	}
	return nil
}

// checkEK refuses an EK public area that is not a restricted decryption key:
// only such a key (a storage key) can run TPM2_ActivateCredential.
func checkEK(ek *tpm2.TPMTPublic) error {
	a := ek.ObjectAttributes
	if !a.Restricted || !a.Decrypt || a.SignEncrypt {
		return fmt.Errorf("%w: not a restricted decryption key (restricted=%v decrypt=%v sign=%v)", ErrBadEK, a.Restricted, a.Decrypt, a.SignEncrypt)
	}
	return nil
}

// MakeChallenge builds a credential-activation challenge: a fresh secret
// (SecretSize bytes from rand), encrypted so that only a TPM holding the EK
// (ekPub, TPMT_PUBLIC) can recover it, and only by TPM2_ActivateCredential
// on a loaded object whose name equals the AK's name (computed here from
// akPub, TPMT_PUBLIC). This is TPM2_MakeCredential done in software (TPM 2.0
// Part 1 §24): a seed is encrypted to the EK (RSA-OAEP with label
// "IDENTITY\0", or ECDH for an ECC EK), KDFa derives the symmetric and HMAC
// keys from it, the secret is encrypted and an integrity HMAC binds it to the
// AK's name; go-tpm's tpm2.CreateCredential does the crypto.
//
// The AK is checked first (CheckAK): a key that is not a restricted
// TPM-resident signing key is refused before any challenge exists. The
// verifier keeps secret and sends credentialBlob and encryptedSecret.
func MakeChallenge(ekPub, akPub []byte, rand io.Reader) (secret, credentialBlob, encryptedSecret []byte, err error) {
	ek, err := ParsePublic(ekPub)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: ek: %w", err)
	}
	if err := checkEK(ek); err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: %w", err)
	}
	ak, err := ParsePublic(akPub)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: ak: %w", err)
	}
	if err := CheckAK(ak); err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: %w", err)
	}
	name, err := tpm2.ObjectName(ak)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: ak name: %w", err)
	}
	kem, err := tpm2.ImportEncapsulationKey(ek)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: %w: %v", ErrBadEK, err)
	}
	secret = make([]byte, SecretSize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: read random secret: %w", err)
	}
	blob, enc, err := tpm2.CreateCredential(rand, kem, name.Buffer, secret)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make challenge: %w", err)
	}
	return secret, blob, enc, nil
}

// VerifyActivation compares the host's answer with the challenge's secret,
// in constant time.
func VerifyActivation(secret, answer []byte) error {
	if len(secret) == 0 || subtle.ConstantTimeCompare(secret, answer) != 1 {
		return fmt.Errorf("%w: the answer is not the challenge's secret", ErrActivation)
	}
	return nil
}

// AKName returns the TPM name of an AK public area (nameAlg || H(TPMT_PUBLIC)).
func AKName(akPub []byte) ([]byte, error) {
	ak, err := ParsePublic(akPub)
	if err != nil {
		return nil, fmt.Errorf("ak name: %w", err)
	}
	n, err := tpm2.ObjectName(ak)
	if err != nil {
		return nil, fmt.Errorf("ak name: %w", err)
	}
	return n.Buffer, nil
}
