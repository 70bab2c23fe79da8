package appraisal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// signAttest signs attest bytes with a software key in the given TPM
// signature scheme and hash, as a TPMT_SIGNATURE.
func signAttest(t *testing.T, key crypto.Signer, scheme tpm2.TPMAlgID, hash tpm2.TPMIAlgHash, attest []byte) []byte {
	t.Helper()
	var h crypto.Hash
	switch hash {
	case tpm2.TPMAlgSHA1:
		h = crypto.SHA1
	case tpm2.TPMAlgSHA256:
		h = crypto.SHA256
	case tpm2.TPMAlgSHA384:
		h = crypto.SHA384
	}
	d := digest(h, attest)
	var sig tpm2.TPMTSignature
	switch scheme {
	case tpm2.TPMAlgECDSA:
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), d)
		if err != nil {
			t.Fatal(err)
		}
		sig = tpm2.TPMTSignature{SigAlg: scheme, Signature: tpm2.NewTPMUSignature(scheme, &tpm2.TPMSSignatureECC{
			Hash: hash, SignatureR: tpm2.TPM2BECCParameter{Buffer: r.Bytes()}, SignatureS: tpm2.TPM2BECCParameter{Buffer: s.Bytes()}})}
	case tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS:
		var opts crypto.SignerOpts = h
		if scheme == tpm2.TPMAlgRSAPSS {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		}
		s, err := key.Sign(rand.Reader, d, opts)
		if err != nil {
			t.Fatal(err)
		}
		sig = tpm2.TPMTSignature{SigAlg: scheme, Signature: tpm2.NewTPMUSignature(scheme, &tpm2.TPMSSignatureRSA{
			Hash: hash, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: s}})}
	}
	return tpm2.Marshal(&sig)
}

func digest(h crypto.Hash, b []byte) []byte {
	hh := h.New()
	hh.Write(b)
	return hh.Sum(nil)
}

// TestVerifySignatureSchemes checks every signature scheme a TPM AK uses,
// with software keys of each kind, and the ones that must be refused.
func TestVerifySignatureSchemes(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attest := softwareAttest(t, eventlog.SHA256, map[int][]byte{0: make([]byte, 32)})
	tests := []struct {
		name    string
		signer  crypto.Signer
		ak      crypto.PublicKey
		scheme  tpm2.TPMAlgID
		hash    tpm2.TPMIAlgHash
		wantErr string
	}{
		{"ECDSA P-256 SHA-256", p256, &p256.PublicKey, tpm2.TPMAlgECDSA, tpm2.TPMAlgSHA256, ""},
		{"ECDSA P-384 SHA-384", p384, &p384.PublicKey, tpm2.TPMAlgECDSA, tpm2.TPMAlgSHA384, ""},
		{"RSASSA SHA-256", rsaKey, &rsaKey.PublicKey, tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, ""},
		{"RSAPSS SHA-256", rsaKey, &rsaKey.PublicKey, tpm2.TPMAlgRSAPSS, tpm2.TPMAlgSHA256, ""},
		{"SHA-1 refused", p256, &p256.PublicKey, tpm2.TPMAlgECDSA, tpm2.TPMAlgSHA1, "SHA-1 signatures are refused"},
		{"RSA signature, ECC AK", rsaKey, &p256.PublicKey, tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, "needs an RSA key"},
		{"ECDSA signature, RSA AK", p256, &rsaKey.PublicKey, tpm2.TPMAlgECDSA, tpm2.TPMAlgSHA256, "needs an ECDSA key"},
		{"other ECDSA key", p384, &p256.PublicKey, tpm2.TPMAlgECDSA, tpm2.TPMAlgSHA256, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := signAttest(t, tt.signer, tt.scheme, tt.hash, attest)
			_, err := verifySignature(tt.ak, attest, sig)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("verifySignature() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("verifySignature() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// softwareAttest marshals a quote TPMS_ATTEST over the given PCR values.
func softwareAttest(t *testing.T, bank eventlog.Alg, pcrs map[int][]byte) []byte {
	t.Helper()
	ak := newSoftwareAK(t)
	q := ak.quote(t, bank, pcrs, testNonce, ClockInfo{Clock: 1})
	return q.Attest
}

func TestParseAttestRejects(t *testing.T) {
	good := softwareAttest(t, eventlog.SHA256, map[int][]byte{0: make([]byte, 32)})
	att, err := tpm2.Unmarshal[tpm2.TPMSAttest](good)
	if err != nil {
		t.Fatal(err)
	}
	certify := *att
	certify.Type = tpm2.TPMSTAttestCertify
	certify.Attested = tpm2.NewTPMUAttest(tpm2.TPMSTAttestCertify, &tpm2.TPMSCertifyInfo{})
	badMagic := append([]byte(nil), good...)
	badMagic[0] ^= 0xff
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"truncated", good[:len(good)-5], "parse TPMS_ATTEST"},
		{"not made by a TPM", badMagic, "parse TPMS_ATTEST"},
		{"certify, not quote", tpm2.Marshal(&certify), "TPM_ST_ATTEST_QUOTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseAttest(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseAttest() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
