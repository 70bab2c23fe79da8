package bundle

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format is the envelope's format tag. A new layout gets a new tag.
const Format = "bootproof-bundle/v1"

// Signature algorithms of the envelope.
const (
	AlgEd25519         = "ed25519"
	AlgECDSAP256SHA256 = "ecdsa-p256-sha256"
)

// Bounds on a bundle file.
const (
	MaxFileBytes     = 1 << 20
	MaxChainCerts    = 8
	maxSignatureSize = 512
)

// signedPrefix separates bundle signatures from any other use of the key:
// what is signed is signedPrefix followed by the descriptor bytes.
const signedPrefix = "bootproof bundle descriptor v1\x00"

// Envelope is the bundle file, one JSON object:
//
//	{"format": "bootproof-bundle/v1",
//	 "descriptor": base64 of the canonical descriptor JSON (the signed bytes),
//	 "alg": "ed25519" | "ecdsa-p256-sha256",
//	 "signature": base64 (Ed25519: 64 bytes; ECDSA: ASN.1 over SHA-256),
//	 "chain": [base64 DER certificate, leaf first, ...]}
type Envelope struct {
	Format     string   `json:"format"`
	Descriptor []byte   `json:"descriptor"`
	Alg        string   `json:"alg"`
	Signature  []byte   `json:"signature"`
	Chain      [][]byte `json:"chain"`
}

// Bundle is a parsed bundle file. Nothing in it is trusted until Verify
// returns nil.
type Bundle struct {
	Descriptor Descriptor
	// DescriptorBytes are the signed bytes, as in the file.
	DescriptorBytes []byte
	Alg             string
	Signature       []byte
	// Chain is the signer's certificate chain, leaf first, as in the file.
	Chain []*x509.Certificate
}

// Errors Verify and VerifyPayloads wrap; callers tell the reasons apart
// with errors.Is.
var (
	ErrMalformed       = errors.New("malformed bundle")
	ErrBadSignature    = errors.New("bad signature")
	ErrUntrustedChain  = errors.New("chain does not end at a trusted root")
	ErrExpired         = errors.New("certificate expired or not yet valid")
	ErrNotCodeSigning  = errors.New("certificate not allowed to sign code")
	ErrPayloadMismatch = errors.New("payload does not match descriptor")
)

// Sign makes a bundle file of the descriptor, signed by s.
func Sign(d Descriptor, s *Signer) ([]byte, error) {
	desc, err := d.Canonical()
	if err != nil {
		return nil, fmt.Errorf("sign bundle %s: %w", d.Name, err)
	}
	if s == nil || s.Key == nil || len(s.Chain) == 0 {
		return nil, fmt.Errorf("sign bundle %s: signer has no key or no certificate", d.Name)
	}
	if len(s.Chain) > MaxChainCerts {
		return nil, fmt.Errorf("sign bundle %s: chain of %d certificates, at most %d", d.Name, len(s.Chain), MaxChainCerts)
	}
	if !samePublicKey(s.Key.Public(), s.Chain[0].PublicKey) {
		return nil, fmt.Errorf("sign bundle %s: key does not match certificate %q", d.Name, s.Chain[0].Subject.CommonName)
	}
	msg := append([]byte(signedPrefix), desc...)
	env := Envelope{Format: Format, Descriptor: desc}
	switch k := s.Key.(type) {
	case ed25519.PrivateKey:
		env.Alg = AlgEd25519
		env.Signature = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("sign bundle %s: ECDSA key on %s, want P-256", d.Name, k.Curve.Params().Name)
		}
		sum := sha256.Sum256(msg)
		env.Alg = AlgECDSAP256SHA256
		if env.Signature, err = ecdsa.SignASN1(rand.Reader, k, sum[:]); err != nil {
			return nil, fmt.Errorf("sign bundle %s: %w", d.Name, err)
		}
	default:
		return nil, fmt.Errorf("sign bundle %s: key type %T, want Ed25519 or ECDSA P-256", d.Name, s.Key)
	}
	for _, c := range s.Chain {
		env.Chain = append(env.Chain, c.Raw)
	}
	return json.MarshalIndent(env, "", "  ")
}

// Parse reads a bundle file strictly: bounded size, one JSON object with
// exactly the envelope's fields, a known format and algorithm, a valid
// descriptor and a parseable chain. It does not verify anything.
func Parse(b []byte) (*Bundle, error) {
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxFileBytes)
	}
	env, err := decodeEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if env.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformed, env.Format, Format)
	}
	d, err := ParseDescriptor(env.Descriptor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch env.Alg {
	case AlgEd25519:
		if len(env.Signature) != ed25519.SignatureSize {
			return nil, fmt.Errorf("%w: signature: %d bytes, want %d for %s", ErrMalformed, len(env.Signature), ed25519.SignatureSize, env.Alg)
		}
	case AlgECDSAP256SHA256:
		if len(env.Signature) == 0 || len(env.Signature) > maxSignatureSize {
			return nil, fmt.Errorf("%w: signature: %d bytes for %s", ErrMalformed, len(env.Signature), env.Alg)
		}
	default:
		return nil, fmt.Errorf("%w: alg %q, want %q or %q", ErrMalformed, env.Alg, AlgEd25519, AlgECDSAP256SHA256)
	}
	if len(env.Chain) == 0 {
		return nil, fmt.Errorf("%w: chain: no certificate", ErrMalformed)
	}
	if len(env.Chain) > MaxChainCerts {
		return nil, fmt.Errorf("%w: chain: %d certificates, at most %d", ErrMalformed, len(env.Chain), MaxChainCerts)
	}
	bd := &Bundle{Descriptor: *d, DescriptorBytes: env.Descriptor, Alg: env.Alg, Signature: env.Signature}
	for i, der := range env.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: chain[%d]: %w", ErrMalformed, i, err)
		}
		bd.Chain = append(bd.Chain, c)
	}
	return bd, nil
}

// decodeEnvelope reads the envelope with its base64 fields as strings first,
// so a decoding error can name the field it is in.
func decodeEnvelope(b []byte) (*Envelope, error) {
	var raw struct {
		Format     string   `json:"format"`
		Descriptor string   `json:"descriptor"`
		Alg        string   `json:"alg"`
		Signature  string   `json:"signature"`
		Chain      []string `json:"chain"`
	}
	if err := decodeStrict(b, &raw); err != nil {
		return nil, err
	}
	env := &Envelope{Format: raw.Format, Alg: raw.Alg}
	var err error
	if env.Descriptor, err = base64.StdEncoding.DecodeString(raw.Descriptor); err != nil {
		return nil, fmt.Errorf("descriptor: base64: %w", err)
	}
	if env.Signature, err = base64.StdEncoding.DecodeString(raw.Signature); err != nil {
		return nil, fmt.Errorf("signature: base64: %w", err)
	}
	if len(raw.Chain) > MaxChainCerts {
		return nil, fmt.Errorf("chain: %d certificates, at most %d", len(raw.Chain), MaxChainCerts)
	}
	for i, c := range raw.Chain {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, fmt.Errorf("chain[%d]: base64: %w", i, err)
		}
		env.Chain = append(env.Chain, der)
	}
	return env, nil
}

// Verify checks, in this order, that the leaf may sign code (keyUsage
// digitalSignature, extKeyUsage codeSigning), that the signature over the
// descriptor is the leaf's, and that the chain leads from the leaf to one of
// roots with every certificate valid at now. The error wraps one of
// ErrNotCodeSigning, ErrBadSignature, ErrUntrustedChain, ErrExpired and
// names the certificate.
func (b *Bundle) Verify(roots []*x509.Certificate, now time.Time) error {
	_, err := b.VerifyValidity(roots, now)
	return err
}

// Validity is a span of time, both ends included, as X.509 validity is.
type Validity struct {
	NotBefore, NotAfter time.Time
}

// Contains reports whether t is inside the span.
func (v Validity) Contains(t time.Time) bool {
	return !t.Before(v.NotBefore) && !t.After(v.NotAfter)
}

// VerifyValidity is Verify that also says, when the bundle verifies, for
// how long that answer holds: the span around now within which Verify with
// the same roots succeeds too. Of what Verify checks only certificate
// validity depends on the time, so the span is the validity of every
// certificate of a chain that verified, intersected along the chain and
// joined over the chains (each contains now, so they join into one span).
// The span is what is sure: a chain not valid at now may verify at other
// times, outside it. Callers that remember a success use it to know when to
// verify again.
func (b *Bundle) VerifyValidity(roots []*x509.Certificate, now time.Time) (Validity, error) {
	if len(b.Chain) == 0 {
		return Validity{}, fmt.Errorf("%w: chain: no certificate", ErrMalformed)
	}
	leaf := b.Chain[0]
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return Validity{}, fmt.Errorf("%w: leaf %q: keyUsage lacks digitalSignature", ErrNotCodeSigning, leaf.Subject.CommonName)
	}
	if !hasCodeSigning(leaf) {
		return Validity{}, fmt.Errorf("%w: leaf %q: extKeyUsage lacks codeSigning", ErrNotCodeSigning, leaf.Subject.CommonName)
	}
	if err := b.checkSignature(leaf); err != nil {
		return Validity{}, fmt.Errorf("%w: bundle %s %s is not signed by leaf %q: %v", ErrBadSignature, b.Descriptor.Name, b.Descriptor.Version, leaf.Subject.CommonName, err)
	}
	chains, err := b.verifyChain(roots, now)
	if err != nil {
		return Validity{}, err
	}
	return chainsValidity(chains), nil
}

// verifyChain checks that the chain leads from the leaf to one of roots with
// every certificate valid at now, and returns the chains that do.
func (b *Bundle) verifyChain(roots []*x509.Certificate, now time.Time) ([][]*x509.Certificate, error) {
	leaf := b.Chain[0]
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range b.Chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	if err == nil {
		return chains, nil
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			return nil, fmt.Errorf("%w: certificate %q at %s: %v", ErrExpired, inv.Cert.Subject.CommonName, now.UTC().Format(time.RFC3339), inv.Detail)
		case x509.IncompatibleUsage:
			return nil, fmt.Errorf("%w: chain of %q does not allow codeSigning: %v", ErrNotCodeSigning, leaf.Subject.CommonName, err)
		}
	}
	// An expired intermediate or root shows up as an unknown authority,
	// since Go then finds no valid path: name it precisely.
	if c := expiredOnPath(b.Chain, roots, now); c != nil {
		return nil, fmt.Errorf("%w: certificate %q is valid %s to %s, not at %s", ErrExpired, c.Subject.CommonName,
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil, fmt.Errorf("%w: leaf %q issued by %q: %v", ErrUntrustedChain, leaf.Subject.CommonName, leaf.Issuer.CommonName, err)
}

// chainsValidity returns the span in which at least one of chains is
// valid: along a chain, the latest NotBefore to the earliest NotAfter;
// over the chains, which all hold at one instant, the earliest start to the
// latest end.
func chainsValidity(chains [][]*x509.Certificate) Validity {
	var out Validity
	for i, chain := range chains {
		if len(chain) == 0 {
			continue
		}
		v := Validity{NotBefore: chain[0].NotBefore, NotAfter: chain[0].NotAfter}
		for _, c := range chain[1:] {
			if c.NotBefore.After(v.NotBefore) {
				v.NotBefore = c.NotBefore
			}
			if c.NotAfter.Before(v.NotAfter) {
				v.NotAfter = c.NotAfter
			}
		}
		if i == 0 {
			out = v
			continue
		}
		if v.NotBefore.Before(out.NotBefore) {
			out.NotBefore = v.NotBefore
		}
		if v.NotAfter.After(out.NotAfter) {
			out.NotAfter = v.NotAfter
		}
	}
	return out
}

// expiredOnPath follows signatures from the leaf through the chain to a root,
// ignoring dates, and returns the first certificate on that path that is not
// valid at now: then its dates, not its trust, are what failed.
func expiredOnPath(chain, roots []*x509.Certificate, now time.Time) *x509.Certificate {
	invalid := func(c *x509.Certificate) bool { return now.Before(c.NotBefore) || now.After(c.NotAfter) }
	cur := chain[0]
	for range MaxChainCerts + 1 {
		if invalid(cur) {
			return cur
		}
		for _, r := range roots {
			if cur.Equal(r) {
				return nil
			}
			if cur.CheckSignatureFrom(r) == nil {
				if invalid(r) {
					return r
				}
				return nil
			}
		}
		var next *x509.Certificate
		for _, p := range chain[1:] {
			if !p.Equal(cur) && cur.CheckSignatureFrom(p) == nil {
				next = p
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return nil
}

func hasCodeSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

func (b *Bundle) checkSignature(leaf *x509.Certificate) error {
	msg := append([]byte(signedPrefix), b.DescriptorBytes...)
	switch b.Alg {
	case AlgEd25519:
		if _, ok := leaf.PublicKey.(ed25519.PublicKey); !ok {
			return fmt.Errorf("alg %s but leaf key is %T", b.Alg, leaf.PublicKey)
		}
		return leaf.CheckSignature(x509.PureEd25519, msg, b.Signature)
	case AlgECDSAP256SHA256:
		pk, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok || pk.Curve != elliptic.P256() {
			return fmt.Errorf("alg %s but leaf key is %T", b.Alg, leaf.PublicKey)
		}
		return leaf.CheckSignature(x509.ECDSAWithSHA256, msg, b.Signature)
	}
	return fmt.Errorf("unknown alg %q", b.Alg)
}

// SignerName returns the leaf certificate's common name, for reports.
func (b *Bundle) SignerName() string {
	if len(b.Chain) == 0 {
		return ""
	}
	return b.Chain[0].Subject.CommonName
}
