package loadgen

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/makerca"
)

// EKKind is the kind of software EK a simulated host gets.
type EKKind string

// The EK kinds: the TCG default EK templates L-1 (RSA 2048) and L-2 (ECC
// NIST P-256). ECC is the default because generating 100,000 RSA keys takes
// longer than the load run itself; both are TPM EK shapes the verifier
// challenges the same way.
const (
	EKECC EKKind = "ecc"
	EKRSA EKKind = "rsa"
)

// AKKind is the kind of software AK a simulated host gets.
type AKKind string

// The AK kinds. ECC P-256 keys are made per host in microseconds. RSA 2048
// (the agent's tpm.AKTemplate since the verifier checks RSA signatures
// faster) takes ~100 ms per key, so RSA AKs come from a pool of rsaAKPool
// keys made at start and shared round-robin: the verifier ties an AK to a
// host through the host's own EK and never requires AKs to differ, and its
// work per quote is the same.
const (
	AKECC AKKind = "ecc"
	AKRSA AKKind = "rsa"
)

const rsaAKPool = 16

var (
	rsaAKOnce sync.Once
	rsaAKs    []*rsa.PrivateKey
	rsaAKErr  error
	rsaAKNext atomic.Uint64
)

func pooledRSAAK() (*rsa.PrivateKey, error) {
	rsaAKOnce.Do(func() {
		for range rsaAKPool {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				rsaAKErr = err
				return
			}
			rsaAKs = append(rsaAKs, k)
		}
	})
	if rsaAKErr != nil {
		return nil, rsaAKErr
	}
	return rsaAKs[rsaAKNext.Add(1)%uint64(len(rsaAKs))], nil
}

// akTemplate is a restricted signing key made in and bound to its TPM
// (restricted, sign, fixedTPM, fixedParent, sensitiveDataOrigin), as
// enroll.CheckAK demands; the simulation claims these attributes falsely.
func akTemplate(kind AKKind) tpm2.TPMTPublic {
	attrs := tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
		UserWithAuth: true, NoDA: true, Restricted: true, SignEncrypt: true}
	if kind == AKRSA {
		return tpm2.TPMTPublic{Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Scheme: tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSASSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256})},
				KeyBits: 2048}),
		}
	}
	return tpm2.TPMTPublic{Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
			CurveID: tpm2.TPMECCNistP256,
			KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
	}
}

// SimulatedTPM is a host's TPM identity held in software: an EK with its
// certificate and an AK. It is a simulation: the AK's attributes claim a
// TPM-resident key, which is a lie here, and is why only a load-test
// verifier may trust the maker CA that certified the EK.
type SimulatedTPM struct {
	EKPublic []byte // TPMT_PUBLIC
	EKCert   []byte // DER
	AKPublic []byte // TPMT_PUBLIC
	AKName   []byte // nameAlg || SHA-256(TPMT_PUBLIC)

	ekRSA *rsa.PrivateKey
	ekECC *ecdh.PrivateKey
	ak    *ecdsa.PrivateKey // an ECC AK, or
	akRSA *rsa.PrivateKey   // an RSA AK (pooled)
}

// NewSimulatedTPM makes a software EK of kind, certifies it with maker under
// serial, and makes (or, for RSA, takes from the pool) a software AK of akKind.
func NewSimulatedTPM(kind EKKind, akKind AKKind, maker *makerca.CA, serial string) (*SimulatedTPM, error) {
	s := &SimulatedTPM{}
	var ekPub crypto.PublicKey
	switch kind {
	case EKRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("simulated tpm %s: rsa ek: %w", serial, err)
		}
		s.ekRSA, ekPub = k, &k.PublicKey
		t := tpm2.RSAEKTemplate
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()})
		s.EKPublic = tpm2.Marshal(t)
	case EKECC, "":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("simulated tpm %s: ecc ek: %w", serial, err)
		}
		if s.ekECC, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("simulated tpm %s: ecc ek: %w", serial, err)
		}
		ekPub = &k.PublicKey
		t := tpm2.ECCEKTemplate
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: k.X.FillBytes(make([]byte, 32))},
			Y: tpm2.TPM2BECCParameter{Buffer: k.Y.FillBytes(make([]byte, 32))}})
		s.EKPublic = tpm2.Marshal(t)
	default:
		return nil, fmt.Errorf("simulated tpm %s: unknown ek kind %q (want ecc or rsa)", serial, kind)
	}
	var err error
	if s.EKCert, err = maker.IssueEKCert(ekPub, serial); err != nil {
		return nil, fmt.Errorf("simulated tpm %s: %w", serial, err)
	}
	t := akTemplate(akKind)
	switch akKind {
	case AKRSA:
		if s.akRSA, err = pooledRSAAK(); err != nil {
			return nil, fmt.Errorf("simulated tpm %s: rsa ak: %w", serial, err)
		}
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: s.akRSA.N.Bytes()})
	case AKECC, "":
		if s.ak, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("simulated tpm %s: ak: %w", serial, err)
		}
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: s.ak.X.FillBytes(make([]byte, 32))},
			Y: tpm2.TPM2BECCParameter{Buffer: s.ak.Y.FillBytes(make([]byte, 32))}})
	default:
		return nil, fmt.Errorf("simulated tpm %s: unknown ak kind %q (want ecc or rsa)", serial, akKind)
	}
	s.AKPublic = tpm2.Marshal(t)
	name, err := tpm2.ObjectName(&t)
	if err != nil {
		return nil, fmt.Errorf("simulated tpm %s: ak name: %w", serial, err)
	}
	s.AKName = name.Buffer
	return s, nil
}

// ActivateCredential does in software what TPM2_ActivateCredential does
// (TPM 2.0 Part 1 §24): recover the seed with the EK (RSA-OAEP with label
// "IDENTITY\0", or ECDH and KDFe for an ECC EK), derive the HMAC key and
// check the integrity HMAC over the encrypted credential and the AK's name
// (so a challenge made for another key is refused, as a TPM refuses it),
// derive the AES key and decrypt the credential.
func (s *SimulatedTPM) ActivateCredential(credentialBlob, encryptedSecret []byte) ([]byte, error) {
	seed, err := s.recoverSeed(encryptedSecret)
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	if len(credentialBlob) < 2 {
		return nil, errors.New("activate credential: credential blob shorter than its size field")
	}
	n := int(credentialBlob[0])<<8 | int(credentialBlob[1])
	if len(credentialBlob) < 2+n {
		return nil, fmt.Errorf("activate credential: integrity HMAC of %d bytes in a blob of %d", n, len(credentialBlob))
	}
	integrity, encIdentity := credentialBlob[2:2+n], credentialBlob[2+n:]
	mac := hmac.New(sha256.New, tpm2.KDFa(crypto.SHA256, seed, "INTEGRITY", nil, nil, 256))
	mac.Write(encIdentity)
	mac.Write(s.AKName)
	if !hmac.Equal(mac.Sum(nil), integrity) {
		return nil, errors.New("activate credential: integrity check failed (the challenge is not for this EK and AK)")
	}
	// The EK templates' symmetric scheme: AES-128-CFB with a zero IV.
	block, err := aes.NewCipher(tpm2.KDFa(crypto.SHA256, seed, "STORAGE", s.AKName, nil, 128))
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	plain := make([]byte, len(encIdentity))
	// TPM 2.0 Part 1 §24.4 fixes CFB for credential protection; its
	// integrity comes from the outer HMAC checked above.
	//lint:ignore SA1019 the TPM specification mandates CFB here.
	cipher.NewCFBDecrypter(block, make([]byte, block.BlockSize())).XORKeyStream(plain, encIdentity)
	d, err := tpm2.Unmarshal[tpm2.TPM2BDigest](plain)
	if err != nil {
		return nil, fmt.Errorf("activate credential: decrypted credential: %w", err)
	}
	return bytes.Clone(d.Buffer), nil
}

func (s *SimulatedTPM) recoverSeed(encryptedSecret []byte) ([]byte, error) {
	if s.ekRSA != nil {
		seed, err := rsa.DecryptOAEP(sha256.New(), nil, s.ekRSA, encryptedSecret, []byte("IDENTITY\x00"))
		if err != nil {
			return nil, fmt.Errorf("decrypt seed with rsa ek: %w", err)
		}
		return seed, nil
	}
	pt, err := tpm2.Unmarshal[tpm2.TPMSECCPoint](encryptedSecret)
	if err != nil {
		return nil, fmt.Errorf("ephemeral ecc point: %w", err)
	}
	eph, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, pad32(pt.X.Buffer)...), pad32(pt.Y.Buffer)...))
	if err != nil {
		return nil, fmt.Errorf("ephemeral ecc point: %w", err)
	}
	z, err := s.ekECC.ECDH(eph)
	if err != nil {
		return nil, fmt.Errorf("ecdh with ek: %w", err)
	}
	ekX := s.ekECC.PublicKey().Bytes()[1:33]
	return tpm2.KDFe(crypto.SHA256, z, "IDENTITY", pad32(pt.X.Buffer), ekX, 256), nil
}

func pad32(b []byte) []byte {
	if len(b) >= 32 {
		return b
	}
	return append(make([]byte, 32-len(b)), b...)
}
