package quote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// sign makes the TPMT_SIGNATURE a TPM would make over attest with key, and
// returns it decoded by ParseSignature, as the verifier gets it.
func sign(t *testing.T, key crypto.Signer, alg uint16, h crypto.Hash, hashAlg tpm2.TPMIAlgHash, attest []byte) *Signature {
	t.Helper()
	hh := h.New()
	hh.Write(attest)
	d := hh.Sum(nil)
	var g tpm2.TPMTSignature
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var s []byte
		var err error
		if alg == AlgRSAPSS {
			s, err = rsa.SignPSS(rand.Reader, k, h, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			s, err = rsa.SignPKCS1v15(nil, k, h, d)
		}
		if err != nil {
			t.Fatal(err)
		}
		g = goRSASig(tpm2.TPMAlgID(alg), hashAlg, s)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		g = goECDSASig(hashAlg, bigBytes(r, size), bigBytes(s, size))
	}
	sig, err := ParseSignature(marshal(g))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestVerifySignatureGood(t *testing.T) {
	attest := marshal(goAttest())
	tests := []struct {
		name    string
		key     crypto.Signer
		alg     uint16
		h       crypto.Hash
		hashAlg tpm2.TPMIAlgHash
	}{
		{"RSASSA SHA-256", rsa2048(), AlgRSASSA, crypto.SHA256, tpm2.TPMAlgSHA256},
		{"RSASSA SHA-512", rsa2048(), AlgRSASSA, crypto.SHA512, tpm2.TPMAlgSHA512},
		{"RSAPSS SHA-256", rsa2048(), AlgRSAPSS, crypto.SHA256, tpm2.TPMAlgSHA256},
		{"RSAPSS SHA-384", rsa2048(), AlgRSAPSS, crypto.SHA384, tpm2.TPMAlgSHA384},
		{"ECDSA P-256 SHA-256", ecP256(), AlgECDSA, crypto.SHA256, tpm2.TPMAlgSHA256},
		{"ECDSA P-384 SHA-384", ecP384(), AlgECDSA, crypto.SHA384, tpm2.TPMAlgSHA384},
		{"ECDSA P-521 SHA-512", ecP521(), AlgECDSA, crypto.SHA512, tpm2.TPMAlgSHA512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig := sign(t, tc.key, tc.alg, tc.h, tc.hashAlg, attest)
			h, err := VerifySignature(tc.key.Public(), attest, sig)
			if err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if h != tc.h {
				t.Errorf("hash %v, want %v", h, tc.h)
			}
		})
	}
}

// TestVerifySignatureEndToEnd verifies a quote the way the verifier will:
// the AK from its TPMT_PUBLIC bytes, the signature from its bytes.
func TestVerifySignatureEndToEnd(t *testing.T) {
	attest := marshal(goAttest())
	for _, tc := range []struct {
		name string
		pub  []byte
		key  crypto.Signer
		alg  uint16
	}{
		{"RSA", marshal(goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))), rsa2048(), AlgRSASSA},
		{"ECC", marshal(goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))), ecP256(), AlgECDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ak, err := ParsePublic(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			sig := sign(t, tc.key, tc.alg, crypto.SHA256, tpm2.TPMAlgSHA256, attest)
			if _, err := ParseAttest(attest); err != nil {
				t.Fatal(err)
			}
			if h, err := VerifySignature(ak.Key, attest, sig); err != nil || h != crypto.SHA256 {
				t.Errorf("VerifySignature = %v, %v", h, err)
			}
		})
	}
}

func TestVerifySignatureBad(t *testing.T) {
	attest := marshal(goAttest())
	other := goAttest()
	other.ExtraData.Buffer[0] ^= 1 // another nonce
	otherAttest := marshal(other)
	rsaSig := sign(t, rsa2048(), AlgRSASSA, crypto.SHA256, tpm2.TPMAlgSHA256, attest)
	pssSig := sign(t, rsa2048(), AlgRSAPSS, crypto.SHA256, tpm2.TPMAlgSHA256, attest)
	ecSig := sign(t, ecP256(), AlgECDSA, crypto.SHA256, tpm2.TPMAlgSHA256, attest)
	// A good SHA-1 signature: refused for its hash, not for not verifying.
	sha1RSA := sign(t, rsa2048(), AlgRSASSA, crypto.SHA1, tpm2.TPMAlgSHA1, attest)
	sha1EC := sign(t, ecP256(), AlgECDSA, crypto.SHA1, tpm2.TPMAlgSHA1, attest)
	if err := rsa.VerifyPKCS1v15(&rsa2048().PublicKey, crypto.SHA1, sha1Sum(attest), sha1RSA.RSA); err != nil {
		t.Fatalf("the SHA-1 test signature is not good: %v", err)
	}
	sm3 := *rsaSig
	sm3.Hash = 0x0012
	unknownAlg := *rsaSig
	unknownAlg.Alg = 0x0005
	tests := []struct {
		name   string
		key    crypto.PublicKey
		attest []byte
		sig    *Signature
		says   string
	}{
		{"RSASSA, wrong key", &rsaOther().PublicKey, attest, rsaSig, "does not verify"},
		{"RSAPSS, wrong key", &rsaOther().PublicKey, attest, pssSig, "does not verify"},
		{"RSASSA, smaller key", &rsa1024().PublicKey, attest, rsaSig, "does not verify"},
		{"ECDSA, wrong key", &ecP384().PublicKey, attest, ecSig, "does not verify"},
		{"RSASSA, wrong data", &rsa2048().PublicKey, otherAttest, rsaSig, "does not verify"},
		{"RSAPSS, wrong data", &rsa2048().PublicKey, otherAttest, pssSig, "does not verify"},
		{"ECDSA, wrong data", &ecP256().PublicKey, otherAttest, ecSig, "does not verify"},
		{"RSASSA over SHA-1", &rsa2048().PublicKey, attest, sha1RSA, "SHA-1"},
		{"ECDSA over SHA-1", &ecP256().PublicKey, attest, sha1EC, "SHA-1"},
		{"SM3", &rsa2048().PublicKey, attest, &sm3, "hash 0x0012"},
		{"RSASSA with an ECDSA key", &ecP256().PublicKey, attest, rsaSig, "RSASSA signature needs an RSA key, not *ecdsa.PublicKey"},
		{"RSAPSS with an ECDSA key", &ecP256().PublicKey, attest, pssSig, "RSAPSS signature needs an RSA key"},
		{"ECDSA with an RSA key", &rsa2048().PublicKey, attest, ecSig, "ECDSA signature needs an ECDSA key, not *rsa.PublicKey"},
		{"no key", nil, attest, ecSig, "needs an ECDSA key, not <nil>"},
		{"nil RSA key", (*rsa.PublicKey)(nil), attest, rsaSig, "needs an RSA key"},
		{"no signature", &rsa2048().PublicKey, attest, nil, "no signature"},
		{"HMAC", &rsa2048().PublicKey, attest, &unknownAlg, "0x0005"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := VerifySignature(tc.key, tc.attest, tc.sig)
			if err == nil {
				t.Fatalf("VerifySignature accepted it (hash %v)", h)
			}
			if h != 0 {
				t.Errorf("hash %v with the error", h)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

// TestVerifySignaturePSSMaxSalt: TPMs differ in PSS salt length (the hash's
// length, or the most the key allows); both verify.
func TestVerifySignaturePSSMaxSalt(t *testing.T) {
	attest := marshal(goAttest())
	d := sha256Sum(attest)
	s, err := rsa.SignPSS(rand.Reader, rsa2048(), crypto.SHA256, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		t.Fatal(err)
	}
	sig := &Signature{Alg: AlgRSAPSS, Hash: AlgSHA256, RSA: s}
	if _, err := VerifySignature(&rsa2048().PublicKey, attest, sig); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
}

func sha256Sum(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

func sha1Sum(b []byte) []byte {
	d := sha1.Sum(b)
	return d[:]
}
