package runtimepolicy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testKey is a signing key and its certificate, made once per test run.
type testKey struct {
	signer  crypto.Signer
	certPEM string
	keyID   uint32 // from the SHA-1 of the public key, as evmctl writes it
}

var (
	keysOnce      sync.Once
	rsaKey, ecKey *testKey
	otherKey      *testKey // same kind as rsaKey, not trusted
	keysErr       error
)

// testKeys returns an RSA and an ECDSA key the tests trust and an RSA key
// they do not.
func testKeys(t testing.TB) (rsaK, ecK, other *testKey) {
	t.Helper()
	keysOnce.Do(func() {
		rsaKey, keysErr = newTestKey(func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) })
		if keysErr == nil {
			ecKey, keysErr = newTestKey(func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })
		}
		if keysErr == nil {
			otherKey, keysErr = newTestKey(func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) })
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return rsaKey, ecKey, otherKey
}

func newTestKey(gen func() (crypto.Signer, error)) (*testKey, error) {
	s, err := gen()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "IMA test key"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0),
		// An SKID that is not the key's SHA-1: the kernel's key id.
		SubjectKeyId: []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ids := KeyIDs(c)
	return &testKey{signer: s, certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), keyID: ids[len(ids)-1]}, nil
}

// sign makes the bytes of a signature_v2_hdr over a file digest, as
// evmctl does: type, version, kernel hash algo, key id, size, signature.
func (k *testKey) sign(t testing.TB, typ, version, algo byte, h crypto.Hash, digest []byte) []byte {
	t.Helper()
	signed := digest
	if version == 3 {
		hh := h.New()
		hh.Write(append([]byte{typ, algo}, digest...))
		signed = hh.Sum(nil)
	}
	sig, err := k.signer.Sign(rand.Reader, signed, h)
	if err != nil {
		t.Fatal(err)
	}
	return header(typ, version, algo, k.keyID, sig)
}

// header lays out a signature_v2_hdr.
func header(typ, version, algo byte, keyID uint32, sig []byte) []byte {
	b := []byte{typ, version, algo, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[3:], keyID)
	binary.BigEndian.PutUint16(b[7:], uint16(len(sig)))
	return append(b, sig...)
}

// fileDigest is the SHA-256 of a file's content.
func fileDigest(content string) []byte {
	s := sha256.Sum256([]byte(content))
	return s[:]
}
