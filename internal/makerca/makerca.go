package makerca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Name is the CA's common name.
const Name = "bootproof emulated TPM maker"

// The files LoadOrCreate keeps in its directory.
const (
	KeyFile  = "makerca.key" // PKCS #8 private key, PEM, mode 0600
	CertFile = "makerca.crt" // self-signed certificate, PEM
)

// OIDs of the TCG EK Credential Profile 2.0 (§3.2) and TCG's OID registry.
var (
	OIDTPMManufacturer  = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
	OIDTPMModel         = asn1.ObjectIdentifier{2, 23, 133, 2, 2}
	OIDTPMVersion       = asn1.ObjectIdentifier{2, 23, 133, 2, 3}
	OIDEKCertificateEKU = asn1.ObjectIdentifier{2, 23, 133, 8, 1} // tcg-kp-EKCertificate
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// TPMInfo is what an EK certificate's subject alternative name says about
// the TPM, in the profile's spelling ("id:" and 8 hex digits).
type TPMInfo struct {
	Manufacturer string // TPM_PT_MANUFACTURER, e.g. "id:4D534654" ("MSFT", the reference TPM)
	Model        string
	Version      string // firmware version
}

// ReferenceTPM describes the TCG reference TPM that the emulated hosts run.
var ReferenceTPM = TPMInfo{Manufacturer: "id:4D534654", Model: "bootproof-emulated", Version: "id:00020000"}

// CA is the emulated TPM maker's authority.
type CA struct {
	key  crypto.Signer
	cert *x509.Certificate
	// TPM is written into every EK certificate issued (ReferenceTPM by default).
	TPM TPMInfo
	// Now is the clock for certificate validity; time.Now by default.
	Now func() time.Time
}

// LoadOrCreate loads the CA from dir, or creates one there (an ECDSA P-256
// key and a self-signed certificate valid for 30 years) when dir holds
// neither file. One file without the other is an error, never silently
// replaced: that would change the CA that verifiers already trust.
func LoadOrCreate(dir string) (*CA, error) {
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	keyPEM, kerr := os.ReadFile(keyPath)
	certPEM, cerr := os.ReadFile(certPath)
	switch {
	case kerr == nil && cerr == nil:
		return parse(keyPEM, certPEM, dir)
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		return create(dir, keyPath, certPath)
	case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
		return nil, fmt.Errorf("load maker ca key: %w", kerr)
	case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
		return nil, fmt.Errorf("load maker ca certificate: %w", cerr)
	}
	return nil, fmt.Errorf("load maker ca from %s: only one of %s and %s exists", dir, KeyFile, CertFile)
}

func parse(keyPEM, certPEM []byte, dir string) (*CA, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("load maker ca key %s: no PRIVATE KEY PEM block", filepath.Join(dir, KeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load maker ca key %s: %w", filepath.Join(dir, KeyFile), err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("load maker ca key %s: %T cannot sign", filepath.Join(dir, KeyFile), k)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("load maker ca certificate %s: no CERTIFICATE PEM block", filepath.Join(dir, CertFile))
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load maker ca certificate %s: %w", filepath.Join(dir, CertFile), err)
	}
	if pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return nil, fmt.Errorf("load maker ca from %s: the certificate is not for the key", dir)
	}
	return &CA{key: signer, cert: cert, TPM: ReferenceTPM, Now: time.Now}, nil
}

func create(dir, keyPath, certPath string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create maker ca directory: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate maker ca key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pick maker ca serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn.Add(sn, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: Name, Organization: []string{"bootproof"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign maker ca certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode maker ca key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return nil, fmt.Errorf("write maker ca key: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("write maker ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new maker ca certificate: %w", err)
	}
	return &CA{key: key, cert: cert, TPM: ReferenceTPM, Now: time.Now}, nil
}

// Certificate returns the CA's certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CertPEM returns the CA's certificate as PEM, for a verifier's trust store.
func (c *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

// IssueEKCert certifies an EK public key as TPM makers do (TCG EK Credential
// Profile 2.0 §3): an empty subject; a critical subject alternative name
// holding a directoryName with the TPM manufacturer, model and version
// attributes (2.23.133.2.1/2/3, UTF8String); key usage keyEncipherment for
// an RSA EK (keyAgreement for an ECC one); extended key usage
// tcg-kp-EKCertificate (2.23.133.8.1); basic constraints CA:false; valid
// until 9999-12-31 (RFC 5280's "no expiry", as makers use: a chip lives as
// long as its board). serial names the TPM (a host name will do); the
// certificate serial number is derived from it with SHA-256, so reissuing for
// the same TPM gives the same number. It returns DER.
func (c *CA) IssueEKCert(ekPub crypto.PublicKey, serial string) ([]byte, error) {
	var ku x509.KeyUsage
	switch ekPub.(type) {
	case *rsa.PublicKey:
		ku = x509.KeyUsageKeyEncipherment
	case *ecdsa.PublicKey:
		ku = x509.KeyUsageKeyAgreement
	default:
		return nil, fmt.Errorf("issue ek certificate: unsupported ek key type %T", ekPub)
	}
	if serial == "" {
		return nil, errors.New("issue ek certificate: empty serial")
	}
	san, err := SANExtension(c.TPM)
	if err != nil {
		return nil, fmt.Errorf("issue ek certificate: %w", err)
	}
	h := sha256.Sum256([]byte(serial))
	sn := new(big.Int).SetBytes(h[:16])
	sn.SetBit(sn, 127, 0) // positive and at most 16 bytes with its sign bit
	if sn.Sign() == 0 {
		sn.SetInt64(1)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		NotBefore:             c.Now().Add(-time.Hour),
		NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:              ku,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{OIDEKCertificateEKU},
		BasicConstraintsValid: true,
		IsCA:                  false,
		ExtraExtensions:       []pkix.Extension{san},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, ekPub, c.key)
	if err != nil {
		return nil, fmt.Errorf("issue ek certificate for %s: %w", serial, err)
	}
	return der, nil
}

// SANExtension builds the EK certificate's critical subject alternative
// name: GeneralNames with one directoryName whose single RDN holds the three
// TPM attributes.
func SANExtension(info TPMInfo) (pkix.Extension, error) {
	atv := func(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(v)}}
	}
	rdn := pkix.RDNSequence{{
		atv(OIDTPMManufacturer, info.Manufacturer),
		atv(OIDTPMModel, info.Model),
		atv(OIDTPMVersion, info.Version),
	}}
	name, err := asn1.Marshal(rdn)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encode tpm directory name: %w", err)
	}
	// directoryName is [4] EXPLICIT Name in GeneralName (RFC 5280 §4.2.1.6).
	gn := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}
	val, err := asn1.Marshal([]asn1.RawValue{gn})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encode subject alternative name: %w", err)
	}
	return pkix.Extension{Id: oidSubjectAltName, Critical: true, Value: val}, nil
}
