package quote

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// Test keys are made once per test binary: RSA key generation is slow.
var (
	rsa2048  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaOther = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsa1024  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	ecP256   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustECDSA(elliptic.P256()) })
	ecP384   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustECDSA(elliptic.P384()) })
	ecP521   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustECDSA(elliptic.P521()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustECDSA(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// seq returns n bytes 1, 2, 3, ... so that fields are told apart in dumps.
func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// goAttest is a quote as a TPM makes it: a 34-byte name (SHA-256 nameAlg),
// a 32-byte nonce, one SHA-256 bank of PCR 0-23, a 32-byte digest.
func goAttest() tpm2.TPMSAttest {
	return goAttestWith(tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
		{Hash: tpm2.TPMAlgSHA256, PCRSelect: []byte{0xff, 0xff, 0xff}},
	}})
}

func goAttestWith(sel tpm2.TPMLPCRSelection) tpm2.TPMSAttest {
	return tpm2.TPMSAttest{
		Magic:           tpm2.TPMGeneratedValue,
		Type:            tpm2.TPMSTAttestQuote,
		QualifiedSigner: tpm2.TPM2BName{Buffer: append([]byte{0, 0x0b}, seq(32, 0x10)...)},
		ExtraData:       tpm2.TPM2BData{Buffer: seq(32, 0x40)},
		ClockInfo:       tpm2.TPMSClockInfo{Clock: 0x0102030405060708, ResetCount: 7, RestartCount: 3, Safe: true},
		FirmwareVersion: 0x2019072300000000,
		Attested: tpm2.NewTPMUAttest(tpm2.TPMSTAttestQuote, &tpm2.TPMSQuoteInfo{
			PCRSelect: sel,
			PCRDigest: tpm2.TPM2BDigest{Buffer: seq(32, 0x80)},
		}),
	}
}

func marshal[T any, P interface {
	*T
	tpm2.Marshallable
}](v T) []byte {
	return tpm2.Marshal(P(&v))
}

// akTemplate is the attributes of an AK: restricted, sign, fixedTPM,
// fixedParent, sensitiveDataOrigin, userWithAuth.
var akAttributes = tpm2.TPMAObject{
	FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
	Restricted: true, SignEncrypt: true,
}

// goRSAPublic is an RSA AK's TPMT_PUBLIC with the given scheme.
func goRSAPublic(k *rsa.PublicKey, scheme tpm2.TPMTRSAScheme) tpm2.TPMTPublic {
	e := uint32(k.E)
	if e == 65537 {
		e = 0
	}
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgRSA,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: akAttributes,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme:    scheme,
			KeyBits:   tpm2.TPMKeyBits(k.N.BitLen()),
			Exponent:  e,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()}),
	}
}

func rsassa(h tpm2.TPMIAlgHash) tpm2.TPMTRSAScheme {
	return tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSASSA,
		Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: h})}
}

func rsapss(h tpm2.TPMIAlgHash) tpm2.TPMTRSAScheme {
	return tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAPSS,
		Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAPSS, &tpm2.TPMSSigSchemeRSAPSS{HashAlg: h})}
}

// goEK is an RSA EK in the shape of the TCG default template: restricted
// decrypt, AES-128-CFB, a policy, no scheme.
func goEK(k *rsa.PublicKey) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgRSA,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
			AdminWithPolicy: true, Restricted: true, Decrypt: true},
		AuthPolicy: tpm2.TPM2BDigest{Buffer: seq(32, 0x20)},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{
				Algorithm: tpm2.TPMAlgAES,
				KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(128)),
				Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
			},
			Scheme:  tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits: 2048,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()}),
	}
}

// goECCPublic is an ECC AK's TPMT_PUBLIC with the given scheme, its
// coordinates at the curve's full size as a TPM writes them.
func goECCPublic(k *ecdsa.PublicKey, scheme tpm2.TPMTECCScheme) tpm2.TPMTPublic {
	x, y := coordinates(k)
	ids := map[int]tpm2.TPMECCCurve{256: tpm2.TPMECCNistP256, 384: tpm2.TPMECCNistP384, 521: tpm2.TPMECCNistP521}
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgECC,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: akAttributes,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme:    scheme,
			CurveID:   ids[k.Curve.Params().BitSize],
			KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: x},
			Y: tpm2.TPM2BECCParameter{Buffer: y},
		}),
	}
}

// coordinates are k's X and Y at the curve's full size.
func coordinates(k *ecdsa.PublicKey) (x, y []byte) {
	b, err := k.Bytes() // 04 || X || Y
	if err != nil {
		panic(err)
	}
	size := (len(b) - 1) / 2
	return b[1 : 1+size], b[1+size:]
}

func ecdsaScheme(h tpm2.TPMIAlgHash) tpm2.TPMTECCScheme {
	return tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
		Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: h})}
}

func goRSASig(alg tpm2.TPMAlgID, h tpm2.TPMIAlgHash, sig []byte) tpm2.TPMTSignature {
	return tpm2.TPMTSignature{SigAlg: alg, Signature: tpm2.NewTPMUSignature(alg,
		&tpm2.TPMSSignatureRSA{Hash: h, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: sig}})}
}

func goECDSASig(h tpm2.TPMIAlgHash, r, s []byte) tpm2.TPMTSignature {
	return tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgECDSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDSA,
		&tpm2.TPMSSignatureECC{Hash: h, SignatureR: tpm2.TPM2BECCParameter{Buffer: r}, SignatureS: tpm2.TPM2BECCParameter{Buffer: s}})}
}

// span is one field of a structure's wire layout, for tests that must know
// which field a byte offset falls in.
type span struct {
	field string
	n     int
}

type placed struct {
	field      string
	start, end int
}

func layout(spans ...span) []placed {
	var out []placed
	off := 0
	for _, s := range spans {
		out = append(out, placed{s.field, off, off + s.n})
		off += s.n
	}
	return out
}

// fieldAt is the field whose bytes include off.
func fieldAt(l []placed, off int) placed {
	for _, p := range l {
		if off >= p.start && off < p.end {
			return p
		}
	}
	return placed{field: "end", start: off}
}

// wantParseError checks that err is a *ParseError naming field (and, when
// offset >= 0, at that offset), and that its text names the field too.
func wantParseError(t *testing.T, err error, field string, offset int) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want a *ParseError for %s", err, err, field)
	}
	if pe.Field != field {
		t.Errorf("error %q names field %q, want %q", err, pe.Field, field)
	}
	if offset >= 0 && pe.Offset != offset {
		t.Errorf("error %q at offset %d, want %d", err, pe.Offset, offset)
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("error %q does not say %q", err, field)
	}
}

// bigBytes is n's big-endian bytes padded to size.
func bigBytes(n *big.Int, size int) []byte { return n.FillBytes(make([]byte, size)) }
