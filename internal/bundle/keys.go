package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Signer is a code-signing key with its certificate chain, leaf first. The
// chain may hold intermediates; the root is not needed (Verify takes roots
// from the caller), and is harmless when present.
type Signer struct {
	Key   crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey on P-256
	Chain []*x509.Certificate
}

// Keys is a vendor's signing hierarchy as Keygen makes it: a self-signed root
// CA, whose certificate verifiers trust, and a code-signing leaf it issued.
type Keys struct {
	Root    *x509.Certificate
	RootKey ed25519.PrivateKey
	Signer  *Signer
}

// KeygenOptions say whose keys to make and for how long they are valid.
type KeygenOptions struct {
	Vendor string
	// NotBefore starts the validity of both certificates. The caller passes
	// the time; this package never reads the clock.
	NotBefore time.Time
	// Validity is how long the certificates last; 0 means 20 years.
	Validity time.Duration
	// Rand supplies key seeds and serial numbers; nil means crypto/rand.
	// A deterministic reader gives the same keys and certificates each time.
	Rand io.Reader
}

// Keygen makes a vendor root CA and a code-signing certificate issued by it,
// both Ed25519.
func Keygen(o KeygenOptions) (*Keys, error) {
	if err := checkText("vendor", o.Vendor, maxVendorLen); err != nil {
		return nil, fmt.Errorf("keygen: %w", err)
	}
	if o.NotBefore.IsZero() {
		return nil, errors.New("keygen: NotBefore is zero")
	}
	if o.Validity == 0 {
		o.Validity = 20 * 365 * 24 * time.Hour
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	rootKey, err := newEd25519(o.Rand)
	if err != nil {
		return nil, fmt.Errorf("keygen %s root key: %w", o.Vendor, err)
	}
	leafKey, err := newEd25519(o.Rand)
	if err != nil {
		return nil, fmt.Errorf("keygen %s signing key: %w", o.Vendor, err)
	}
	notAfter := o.NotBefore.Add(o.Validity)
	root, err := Issue(CertSpec{CommonName: o.Vendor + " Root CA", Organization: o.Vendor, CA: true,
		NotBefore: o.NotBefore, NotAfter: notAfter}, rootKey.Public(), nil, rootKey, o.Rand)
	if err != nil {
		return nil, fmt.Errorf("keygen %s root: %w", o.Vendor, err)
	}
	leaf, err := Issue(CertSpec{CommonName: o.Vendor + " Code Signing", Organization: o.Vendor, CodeSigning: true,
		NotBefore: o.NotBefore, NotAfter: notAfter}, leafKey.Public(), root, rootKey, o.Rand)
	if err != nil {
		return nil, fmt.Errorf("keygen %s signing certificate: %w", o.Vendor, err)
	}
	return &Keys{Root: root, RootKey: rootKey, Signer: &Signer{Key: leafKey, Chain: []*x509.Certificate{leaf}}}, nil
}

func newEd25519(r io.Reader) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, fmt.Errorf("read key seed: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// CertSpec describes a certificate for Issue.
type CertSpec struct {
	CommonName, Organization string
	// CA makes a certificate authority (basicConstraints CA, keyCertSign).
	CA bool
	// CodeSigning gives keyUsage digitalSignature and extKeyUsage codeSigning,
	// what Verify requires of a bundle's leaf.
	CodeSigning bool
	// ServerAuth adds extKeyUsage serverAuth (a key not meant for code).
	ServerAuth          bool
	NotBefore, NotAfter time.Time
}

// Issue makes a certificate for pub, signed by parent's key; a nil parent
// makes it self-signed with parentKey. rand supplies the serial number.
func Issue(s CertSpec, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, rnd io.Reader) (*x509.Certificate, error) {
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rnd, serial); err != nil {
		return nil, fmt.Errorf("issue %q: read serial: %w", s.CommonName, err)
	}
	serial[0] &= 0x7f
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: s.CommonName, Organization: []string{s.Organization}},
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  s.CA,
	}
	if s.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if s.CodeSigning {
		tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageCodeSigning)
	}
	if s.ServerAuth {
		tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rnd, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("issue %q: %w", s.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// NewECDSAKey makes a P-256 key, for callers that want ECDSA leaves.
func NewECDSAKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// File names Keys.Files uses and the CLI writes.
const (
	RootCertFile    = "root.pem"
	RootKeyFile     = "root.key"
	SigningCertFile = "signing.pem"
	SigningKeyFile  = "signing.key"
)

// Files returns the keys as PEM files by name: the root certificate (to
// give to verifiers), the root key (to keep offline), the signing
// certificate and the signing key.
func (k *Keys) Files() (map[string][]byte, error) {
	rootKey, err := MarshalKeyPEM(k.RootKey)
	if err != nil {
		return nil, err
	}
	leafKey, err := MarshalKeyPEM(k.Signer.Key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		RootCertFile:    CertsPEM(k.Root),
		RootKeyFile:     rootKey,
		SigningCertFile: CertsPEM(k.Signer.Chain...),
		SigningKeyFile:  leafKey,
	}, nil
}

// LoadKeys reads what Files wrote.
func LoadKeys(files map[string][]byte) (*Keys, error) {
	roots, err := ParseCertificatesPEM(files[RootCertFile])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootCertFile, err)
	}
	if len(roots) != 1 {
		return nil, fmt.Errorf("%s: %d certificates, want 1", RootCertFile, len(roots))
	}
	rk, err := ParseKeyPEM(files[RootKeyFile])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootKeyFile, err)
	}
	edk, ok := rk.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: %T, want an Ed25519 key", RootKeyFile, rk)
	}
	s, err := LoadSigner(files[SigningCertFile], files[SigningKeyFile], nil)
	if err != nil {
		return nil, err
	}
	return &Keys{Root: roots[0], RootKey: edk, Signer: s}, nil
}

// LoadSigner reads a signing certificate (PEM; more certificates after the
// first are its chain), its private key (PKCS #8 PEM) and optional further
// chain certificates, and checks that key and certificate belong together.
func LoadSigner(certPEM, keyPEM, chainPEM []byte) (*Signer, error) {
	chain, err := ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	if len(chain) == 0 {
		return nil, errors.New("signing certificate: no CERTIFICATE block")
	}
	if len(chainPEM) > 0 {
		more, err := ParseCertificatesPEM(chainPEM)
		if err != nil {
			return nil, fmt.Errorf("chain: %w", err)
		}
		chain = append(chain, more...)
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if !samePublicKey(key.Public(), chain[0].PublicKey) {
		return nil, fmt.Errorf("signing key does not match certificate %q", chain[0].Subject.CommonName)
	}
	return &Signer{Key: key, Chain: chain}, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// CertsPEM encodes certificates as CERTIFICATE blocks, in order.
func CertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ParseCertificatesPEM reads every CERTIFICATE block; other block types and
// text between blocks are an error, so a wrong file is not half-read.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i := 0; ; i++ {
		var blk *pem.Block
		blk, rest := pem.Decode(b)
		if blk == nil {
			if len(trimSpace(rest)) > 0 {
				return nil, fmt.Errorf("PEM block %d: not PEM (%d bytes left)", i, len(trimSpace(rest)))
			}
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d: type %q, want CERTIFICATE", i, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", i, err)
		}
		out = append(out, c)
		b = rest
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// MarshalKeyPEM encodes a private key as a PKCS #8 PRIVATE KEY block.
func MarshalKeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM reads a PKCS #8 PRIVATE KEY block holding an Ed25519 or
// ECDSA P-256 key.
func ParseKeyPEM(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	if blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM type %q, want PRIVATE KEY (PKCS #8)", blk.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS #8 key: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("key type %T, want Ed25519 or ECDSA P-256", k)
}
