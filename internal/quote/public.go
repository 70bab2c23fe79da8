package quote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
)

// RSA key sizes ParsePublic accepts. The verifier only verifies with the
// key, but a quote signed by a small key proves nothing: a 512-bit modulus
// is factored in hours, and whoever factors an AK forges its quotes. 1024
// is the least crypto/rsa still verifies with; 4096 is the largest a TPM
// makes, and bounds what a hostile key costs to check.
const (
	minRSABits = 1024
	maxRSABits = 4096
	// defaultExponent is what an exponent of 0 means (Part 2 §12.2.3.5).
	defaultExponent = 65537
	// maxExponent is the largest exponent crypto/rsa accepts (E is an int,
	// and it refuses larger ones even where int is 64 bits).
	maxExponent = 1<<31 - 1
)

// TPMA_OBJECT bits (Part 2 §8.3).
const (
	attrFixedTPM    = 1 << 1
	attrRestricted  = 1 << 16
	attrDecrypt     = 1 << 17
	attrSignEncrypt = 1 << 18
)

// Public is an RSA or ECC TPMT_PUBLIC (Part 2 §12.2.4). AuthPolicy aliases
// the input of ParsePublic.
type Public struct {
	Type, NameAlg uint16
	Attributes    uint32 // TPMA_OBJECT bits
	AuthPolicy    []byte
	// Scheme and SchemeHash are the key's signing scheme (TPM_ALG_NULL =
	// 0x0010 when none; SchemeHash is TPM_ALG_NULL too for RSAES, which
	// has no hash).
	Scheme, SchemeHash uint16
	Key                crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey (P-256, P-384, P-521)
}

// Restricted reports TPMA_OBJECT restricted: a restricted signing key signs
// only digests the TPM computed itself, which is what makes a quote
// unforgeable.
func (p *Public) Restricted() bool { return p.Attributes&attrRestricted != 0 }

// SignEncrypt reports TPMA_OBJECT sign (sign/encrypt).
func (p *Public) SignEncrypt() bool { return p.Attributes&attrSignEncrypt != 0 }

// Decrypt reports TPMA_OBJECT decrypt.
func (p *Public) Decrypt() bool { return p.Attributes&attrDecrypt != 0 }

// FixedTPM reports TPMA_OBJECT fixedTPM: the key cannot leave its TPM.
func (p *Public) FixedTPM() bool { return p.Attributes&attrFixedTPM != 0 }

// ParsePublic decodes b, which must be exactly one TPMT_PUBLIC of an RSA or
// ECC key, with no trailing bytes. It checks that the key is usable: an RSA
// modulus of keyBits bits (1024 to 4096), an ECC point on a NIST curve.
// Errors are *ParseError. It does not judge whether the key may sign
// quotes; the caller checks Restricted, SignEncrypt and the rest.
func ParsePublic(b []byte) (*Public, error) {
	r := reader{b: b, name: "TPMT_PUBLIC"}
	p := &Public{}
	var err error
	if p.Type, err = r.u16("type"); err != nil {
		return nil, err
	}
	if p.Type != AlgRSA && p.Type != AlgECC {
		return nil, r.failAt(0, "type", "0x%04x is not an RSA (0x0001) or ECC (0x0023) key", p.Type)
	}
	if p.NameAlg, err = r.u16("nameAlg"); err != nil {
		return nil, err
	}
	if p.Attributes, err = r.u32("objectAttributes"); err != nil {
		return nil, err
	}
	if p.AuthPolicy, err = r.sized("authPolicy"); err != nil {
		return nil, err
	}
	if err = symmetric(&r); err != nil {
		return nil, err
	}
	if p.Type == AlgRSA {
		err = rsaPublic(&r, p)
	} else {
		err = eccPublic(&r, p)
	}
	if err != nil {
		return nil, err
	}
	if err = r.end(); err != nil {
		return nil, err
	}
	return p, nil
}

// symmetric reads a TPMT_SYM_DEF_OBJECT. A signing key's is NULL; a
// storage key's (an EK) is AES. go-tpm decodes no other block cipher in
// this place (and XOR is not a TPMI_ALG_SYM_OBJECT), so neither does this.
func symmetric(r *reader) error {
	at := r.off
	alg, err := r.u16("parameters.symmetric.algorithm")
	if err != nil {
		return err
	}
	switch alg {
	case AlgNull:
		return nil
	case AlgAES:
		if _, err = r.u16("parameters.symmetric.keyBits"); err != nil {
			return err
		}
		_, err = r.u16("parameters.symmetric.mode")
		return err
	}
	return r.failAt(at, "parameters.symmetric.algorithm", "0x%04x is not TPM_ALG_NULL or AES", alg)
}

// scheme reads a TPMT_RSA_SCHEME or TPMT_ECC_SCHEME into p. It accepts the
// schemes of TPMI_ALG_RSA_SCHEME and TPMI_ALG_ECC_SCHEME (Part 2 §11.2.4.1,
// §11.2.5.5) that go-tpm decodes; go-tpm also takes an ECC scheme for an RSA
// key and the reverse, which no TPM makes.
func scheme(r *reader, p *Public) error {
	at := r.off
	var err error
	if p.Scheme, err = r.u16("parameters.scheme.scheme"); err != nil {
		return err
	}
	p.SchemeHash = AlgNull
	switch {
	case p.Scheme == AlgNull, p.Type == AlgRSA && p.Scheme == AlgRSAES:
		return nil // no details
	case p.Type == AlgRSA && (p.Scheme == AlgRSASSA || p.Scheme == AlgRSAPSS || p.Scheme == AlgOAEP),
		p.Type == AlgECC && (p.Scheme == AlgECDSA || p.Scheme == AlgECDH || p.Scheme == AlgECMQV || p.Scheme == AlgECDAA):
	default:
		return r.failAt(at, "parameters.scheme.scheme", "0x%04x is not a scheme of this key type", p.Scheme)
	}
	if p.SchemeHash, err = r.u16("parameters.scheme.hashAlg"); err != nil {
		return err
	}
	if p.Scheme == AlgECDAA {
		_, err = r.u16("parameters.scheme.count") // TPMS_SCHEME_ECDAA
	}
	return err
}

// rsaPublic reads a TPMS_RSA_PARMS and the TPM2B_PUBLIC_KEY_RSA.
func rsaPublic(r *reader, p *Public) error {
	if err := scheme(r, p); err != nil {
		return err
	}
	at := r.off
	bits, err := r.u16("parameters.keyBits")
	if err != nil {
		return err
	}
	if bits < minRSABits || bits > maxRSABits || bits%8 != 0 {
		return r.failAt(at, "parameters.keyBits", "%d bits, want a multiple of 8 from %d to %d", bits, minRSABits, maxRSABits)
	}
	at = r.off
	e, err := r.u32("parameters.exponent")
	if err != nil {
		return err
	}
	if e == 0 {
		e = defaultExponent
	}
	if e < 3 || e%2 == 0 || e > maxExponent {
		return r.failAt(at, "parameters.exponent", "%d is not an odd exponent from 3 to 2^31-1", e)
	}
	at = r.off
	n, err := r.sized("unique.rsa")
	if err != nil {
		return err
	}
	if len(n)*8 != int(bits) {
		return r.failAt(at, "unique.rsa", "modulus of %d bytes, keyBits %d needs %d", len(n), bits, bits/8)
	}
	p.Key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(e)}
	return nil
}

// curve maps a TPM_ECC_CURVE to Go's curves and their field size in bytes.
func curve(id uint16) (elliptic.Curve, int, string) {
	switch id {
	case CurveP256:
		return elliptic.P256(), 32, "P-256"
	case CurveP384:
		return elliptic.P384(), 48, "P-384"
	case CurveP521:
		return elliptic.P521(), 66, "P-521"
	}
	return nil, 0, ""
}

// eccPublic reads a TPMS_ECC_PARMS and the TPMS_ECC_POINT.
func eccPublic(r *reader, p *Public) error {
	if err := scheme(r, p); err != nil {
		return err
	}
	at := r.off
	id, err := r.u16("parameters.curveID")
	if err != nil {
		return err
	}
	c, size, name := curve(id)
	if c == nil {
		return r.failAt(at, "parameters.curveID", "curve 0x%04x is not NIST P-256, P-384 or P-521", id)
	}
	if err = kdf(r); err != nil {
		return err
	}
	at = r.off
	pt := make([]byte, 1+2*size) // SEC 1 uncompressed point: 04 || X || Y
	pt[0] = 4
	if err = coordinate(r, "unique.ecc.x", pt[1:1+size]); err != nil {
		return err
	}
	if err = coordinate(r, "unique.ecc.y", pt[1+size:]); err != nil {
		return err
	}
	// ParseUncompressedPublicKey refuses a point off the curve or at
	// infinity: a key that is no key must fail here, not in every check.
	k, err := ecdsa.ParseUncompressedPublicKey(c, pt)
	if err != nil {
		return r.failAt(at, "unique.ecc", "the point is not on %s", name)
	}
	p.Key = k
	return nil
}

// kdf reads a TPMT_KDF_SCHEME. The schemes are those of TPMI_ALG_KDF (Part 2
// §9.32); each has a TPMS_SCHEME_HASH. go-tpm also takes ECDH here, which is
// a key exchange, not a KDF.
func kdf(r *reader) error {
	at := r.off
	s, err := r.u16("parameters.kdf.scheme")
	if err != nil {
		return err
	}
	switch s {
	case AlgNull:
		return nil
	case algMGF1, algKDF56A, algKDF2, algKDF108:
		_, err = r.u16("parameters.kdf.hashAlg")
		return err
	}
	return r.failAt(at, "parameters.kdf.scheme", "0x%04x is not TPM_ALG_NULL or a KDF", s)
}

// coordinate reads a TPM2B_ECC_PARAMETER into dst, right-aligned: a
// coordinate may be written without its leading zero bytes, never with more
// bytes than the curve's field.
func coordinate(r *reader, field string, dst []byte) error {
	at := r.off
	v, err := r.sized(field)
	if err != nil {
		return err
	}
	if len(v) > len(dst) {
		return r.failAt(at, field, "%d bytes, the curve's coordinates have %d", len(v), len(dst))
	}
	copy(dst[len(dst)-len(v):], v)
	return nil
}
