package runtimepolicy

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"strings"
)

// trustedKey is a parsed TrustedKey.
type trustedKey struct {
	index int // in Policy.TrustedKeys
	label string
	mode  string
	pub   any // *rsa.PublicKey or *ecdsa.PublicKey
}

// keyRing finds trusted keys by the 32-bit key id of a signature header.
type keyRing map[uint32][]*trustedKey

// parseTrustedKey reads one PEM certificate with an RSA or ECDSA key.
func parseTrustedKey(s string) (*x509.Certificate, error) {
	blk, rest := pem.Decode([]byte(s))
	if blk == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	if blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("PEM block is %q, want CERTIFICATE", blk.Type)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("more after the certificate: one key per entry")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	switch c.PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("certificate key is %s; IMA signatures are checked with RSA and ECDSA keys", c.PublicKeyAlgorithm)
	}
	return c, nil
}

// KeyIDs are the key ids a signature by the certificate's key may carry:
// the last four bytes of its subject key identifier (what the kernel's
// asymmetric key lookup "id:XXXXXXXX" matches) and of the SHA-1 of its
// public key (what evmctl writes by default, ima-evm-utils'
// calc_keyid_v2). They agree when the certificate's SKID is the usual
// SHA-1 of the key.
func KeyIDs(c *x509.Certificate) []uint32 {
	var ids []uint32
	if n := len(c.SubjectKeyId); n >= 4 {
		ids = append(ids, binary.BigEndian.Uint32(c.SubjectKeyId[n-4:]))
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err == nil {
		sum := sha1.Sum(spki.PublicKey.Bytes)
		id := binary.BigEndian.Uint32(sum[16:])
		if len(ids) == 0 || ids[0] != id {
			ids = append(ids, id)
		}
	}
	return ids
}

// newKeyRing parses the policy's trusted keys.
func newKeyRing(keys []TrustedKey) (keyRing, error) {
	ring := keyRing{}
	for i, k := range keys {
		c, err := parseTrustedKey(k.Certificate)
		if err != nil {
			return nil, fmt.Errorf("trusted_keys[%d]: %w", i, err)
		}
		tk := &trustedKey{index: i, label: k.Label, mode: k.Mode, pub: c.PublicKey}
		if tk.label == "" {
			tk.label = c.Subject.String()
		}
		for _, id := range KeyIDs(c) {
			ring[id] = append(ring[id], tk)
		}
	}
	return ring, nil
}

// verify checks a signature over a file digest measured in algorithm alg
// and returns the key that made it. The errors are ErrUnknownKey and
// ErrBadSignature, wrapped with what differed.
func (r keyRing) verify(s *Signature, alg string, digest []byte) (*trustedKey, error) {
	keys := r[s.KeyID]
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: key id %08x", ErrUnknownKey, s.KeyID)
	}
	if alg != s.HashName {
		return keys[0], fmt.Errorf("%w: signed over a %s digest, the log's digest is %s", ErrBadSignature, s.HashName, alg)
	}
	if len(digest) != s.Hash.Size() {
		return keys[0], fmt.Errorf("%w: a %d-byte digest, %s is %d", ErrBadSignature, len(digest), alg, s.Hash.Size())
	}
	signed := s.SignedDigest(digest)
	for _, k := range keys {
		if verifyWith(k.pub, s, signed) {
			return k, nil
		}
	}
	return keys[0], fmt.Errorf("%w: not by %q (key id %08x)", ErrBadSignature, keys[0].label, s.KeyID)
}

// verifyWith checks one signature: RSA PKCS#1 v1.5 over the digest with
// the DigestInfo of the header's algorithm (the kernel's pkcs1pad), or a
// DER ECDSA signature (x962).
func verifyWith(pub any, s *Signature, signed []byte) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, s.Hash, signed, s.Sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, signed, s.Sig)
	}
	return false
}
