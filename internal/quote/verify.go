package quote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
)

// VerifySignature checks sig over attest with key and returns the
// signature's hash, which is also the hash of the quote's pcrDigest (TPM 2.0
// Part 3 §18.4). SHA-1 signatures are refused: a SHA-1 collision lets a host
// reuse a signature for a TPMS_ATTEST the TPM never made. RSASSA is checked
// with rsa.VerifyPKCS1v15, RSAPSS with rsa.VerifyPSS (any salt length, as
// TPMs differ in the salt they use), ECDSA with ecdsa.Verify. A signature of
// one key type checked with a key of the other is an error saying so.
func VerifySignature(key crypto.PublicKey, attest []byte, sig *Signature) (crypto.Hash, error) {
	if sig == nil {
		return 0, errors.New("verify TPMT_SIGNATURE: no signature")
	}
	switch sig.Alg {
	case AlgRSASSA, AlgRSAPSS:
		pub, ok := key.(*rsa.PublicKey)
		if !ok || pub == nil {
			return 0, fmt.Errorf("verify TPMT_SIGNATURE: an %s signature needs an RSA key, not %T", algName(sig.Alg), key)
		}
		return verifyRSA(pub, attest, sig)
	case AlgECDSA:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub == nil {
			return 0, fmt.Errorf("verify TPMT_SIGNATURE: an ECDSA signature needs an ECDSA key, not %T", key)
		}
		return verifyECDSA(pub, attest, sig)
	}
	return 0, fmt.Errorf("verify TPMT_SIGNATURE: algorithm 0x%04x is not RSASSA, RSAPSS or ECDSA", sig.Alg)
}

func verifyRSA(pub *rsa.PublicKey, attest []byte, sig *Signature) (crypto.Hash, error) {
	h, d, err := digest(sig.Hash, attest)
	if err != nil {
		return 0, err
	}
	if sig.Alg == AlgRSASSA {
		err = rsa.VerifyPKCS1v15(pub, h, d, sig.RSA)
	} else {
		err = rsa.VerifyPSS(pub, h, d, sig.RSA, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	if err != nil {
		return 0, fmt.Errorf("verify TPMT_SIGNATURE: the %s signature does not verify with the key", algName(sig.Alg))
	}
	return h, nil
}

func verifyECDSA(pub *ecdsa.PublicKey, attest []byte, sig *Signature) (crypto.Hash, error) {
	h, d, err := digest(sig.Hash, attest)
	if err != nil {
		return 0, err
	}
	r, s := new(big.Int).SetBytes(sig.R), new(big.Int).SetBytes(sig.S)
	if !ecdsa.Verify(pub, d, r, s) {
		return 0, errors.New("verify TPMT_SIGNATURE: the ECDSA signature does not verify with the key")
	}
	return h, nil
}

// digest hashes attest with the signature's hash. Only SHA-2 is accepted:
// SHA-1 is refused for collisions, and the verifier has no SM3.
func digest(alg uint16, attest []byte) (crypto.Hash, []byte, error) {
	switch alg {
	case AlgSHA256:
		d := sha256.Sum256(attest)
		return crypto.SHA256, d[:], nil
	case AlgSHA384:
		d := sha512.Sum384(attest)
		return crypto.SHA384, d[:], nil
	case AlgSHA512:
		d := sha512.Sum512(attest)
		return crypto.SHA512, d[:], nil
	case AlgSHA1:
		return 0, nil, errors.New("verify TPMT_SIGNATURE: SHA-1 signatures are refused: SHA-1 collisions make them forgeable")
	}
	return 0, nil, fmt.Errorf("verify TPMT_SIGNATURE: hash 0x%04x is not SHA-256, SHA-384 or SHA-512", alg)
}

func algName(alg uint16) string {
	switch alg {
	case AlgRSASSA:
		return "RSASSA"
	case AlgRSAPSS:
		return "RSAPSS"
	case AlgECDSA:
		return "ECDSA"
	}
	return fmt.Sprintf("0x%04x", alg)
}
