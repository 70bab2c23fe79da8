package trusttoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Claims is what a token states. Status is one of the verifier's statuses.
type Claims struct {
	Issuer     string `json:"iss"`
	Subject    string `json:"sub"` // host name
	Audience   string `json:"aud,omitempty"`
	IssuedAt   int64  `json:"iat"`
	NotBefore  int64  `json:"nbf"`
	Expiry     int64  `json:"exp"`
	ID         string `json:"jti,omitempty"`
	Status     string `json:"status"`
	Group      string `json:"group,omitempty"`
	Appraised  int64  `json:"appraised_at,omitempty"` // unix seconds of the verdict
	PolicyHash string `json:"policy_sha256,omitempty"`
	// ReasonCode and Reason are the host's stored headline: the same first
	// reason the report, the web page and webhooks show.
	ReasonCode string `json:"reason_code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Placement is the verifier's placement decision at issue time.
	Placement string `json:"placement,omitempty"` // "allow" or "deny"
}

// Errors a relying party may branch on.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token signature does not verify")
	ErrExpired   = errors.New("token expired")
	ErrNotYet    = errors.New("token not yet valid")
	ErrIssuer    = errors.New("token from another issuer")
	ErrAudience  = errors.New("token for another audience")
)

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// Signer issues tokens with one ECDSA P-256 key.
type Signer struct {
	key *ecdsa.PrivateKey
	kid string
}

// NewKey makes a fresh signing key, PEM-encoded (PKCS#8).
func NewKey() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal token key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// NewSigner loads a PEM private key made by NewKey.
func NewSigner(keyPEM []byte) (*Signer, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, fmt.Errorf("token key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("token key: want an ECDSA P-256 key")
	}
	return &Signer{key: ek, kid: KeyID(&ek.PublicKey)}, nil
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of its DER.
func KeyID(pub *ecdsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return fmt.Sprintf("%x", sum[:8])
}

// Public returns the verification key.
func (s *Signer) Public() *ecdsa.PublicKey { return &s.key.PublicKey }

// PublicPEM returns the verification key as a PEM "PUBLIC KEY" block.
func (s *Signer) PublicPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

var b64 = base64.RawURLEncoding

// Issue signs the claims.
func (s *Signer) Issue(c Claims) (string, error) {
	h, _ := json.Marshal(header{Alg: "ES256", Typ: "JWT", Kid: s.kid})
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + b64.EncodeToString(sig), nil
}

// Expectations are what a relying party requires of a token.
type Expectations struct {
	Issuer   string
	Audience string // empty: any
	Now      time.Time
	// Leeway tolerates clock skew between verifier and relying party.
	Leeway time.Duration
}

// maxTokenLen bounds the input before any decoding.
const maxTokenLen = 8 << 10

// Verify checks a token against the keys and returns its claims only if it
// is authentic and valid now.
func Verify(token string, keys []*ecdsa.PublicKey, want Expectations) (*Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(token))
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want 3 parts, got %d", ErrMalformed, len(parts))
	}
	var h header
	if err := decodePart(parts[0], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != "ES256" {
		return nil, fmt.Errorf("%w: algorithm %q, want ES256", ErrSignature, h.Alg)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	var ok bool
	for _, k := range keys {
		if KeyID(k) == h.Kid && ecdsa.Verify(k, sum[:], r, s) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrSignature, h.Kid)
	}
	var c Claims
	if err := decodePart(parts[1], &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	// Claims that fail the checks are not returned: a caller that forgets
	// the error must not act on an expired or foreign token.
	if err := checkClaims(&c, want); err != nil {
		return nil, err
	}
	return &c, nil
}

func checkClaims(c *Claims, want Expectations) error {
	now := want.Now.Unix()
	leeway := int64(want.Leeway / time.Second)
	switch {
	case want.Issuer != "" && c.Issuer != want.Issuer:
		return fmt.Errorf("%w: %q, want %q", ErrIssuer, c.Issuer, want.Issuer)
	case want.Audience != "" && c.Audience != want.Audience:
		return fmt.Errorf("%w: %q, want %q", ErrAudience, c.Audience, want.Audience)
	case now > c.Expiry+leeway:
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	case now+leeway < c.NotBefore:
		return fmt.Errorf("%w until %s", ErrNotYet, time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func decodePart(s string, v any) error {
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ParsePublicKeys reads every "PUBLIC KEY" PEM block of ECDSA P-256 keys.
func ParsePublicKeys(pemBytes []byte) ([]*ecdsa.PublicKey, error) {
	var out []*ecdsa.PublicKey
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			break
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		ek, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: want ECDSA, got %T", k)
		}
		if ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("public key: want curve P-256 (ES256), got %s", ek.Curve.Params().Name)
		}
		out = append(out, ek)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("public key: no PEM block")
	}
	return out, nil
}

var _ crypto.Signer = (*ecdsa.PrivateKey)(nil)
