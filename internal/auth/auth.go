package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Role is what a token may do.
type Role int

// Roles, ordered: each may do what the ones below it may.
const (
	Viewer Role = iota + 1
	Operator
	Admin
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Viewer, Operator, Admin} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want viewer, operator or admin)", s)
}

// Principal is who made a request.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
}

// Errors the API maps to 401.
var (
	ErrNoToken  = errors.New("no API token")
	ErrBadToken = errors.New("invalid API token")
	ErrRevoked  = errors.New("API token revoked")
)

// ErrUnknownToken is what a Lookup returns, wrapped, when no token has the
// ID: only then is the token invalid (ErrBadToken).
var ErrUnknownToken = errors.New("no API token with this ID")

// UnavailableError means the token could not be checked at all: its
// Lookup failed for another reason than ErrUnknownToken (the store is down
// or unreadable). The token may well be valid, so the caller must not
// answer "invalid token" (401, or signing a browser out) but "try again"
// (503 store.unavailable).
type UnavailableError struct {
	TokenID string
	Err     error
}

func (e *UnavailableError) Error() string {
	return "cannot check API token " + e.TokenID + ": " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err says that a token could not be checked.
func IsUnavailable(err error) bool {
	var ue *UnavailableError
	return errors.As(err, &ue)
}

// Record is what the store keeps of a token.
type Record struct {
	Name       string
	SecretHash []byte
	Role       string
	Revoked    bool
}

// Lookup finds a token's record by ID. It returns an error wrapping
// ErrUnknownToken when there is none; any other error means the lookup
// itself failed, and Authenticate returns an *UnavailableError.
type Lookup func(ctx context.Context, id string) (Record, error)

// NewToken makes a token. Give the user full; store id and hash.
func NewToken() (id, full string, hash []byte, err error) {
	b := make([]byte, 6+32)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, fmt.Errorf("generate token: %w", err)
	}
	id = hex.EncodeToString(b[:6])
	secret := base64.RawURLEncoding.EncodeToString(b[6:])
	return id, "bp_" + id + "_" + secret, HashSecret(secret), nil
}

// HashSecret is the stored form of a token's secret. The secret has 256
// bits of entropy, so a plain SHA-256 is enough (no password stretching).
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Split returns a token's ID and secret.
func Split(token string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), "bp_")
	if !ok {
		return "", "", ErrBadToken
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(secret) < 40 || len(secret) > 64 {
		return "", "", ErrBadToken
	}
	return id, secret, nil
}

// Authenticator checks tokens against the store.
type Authenticator struct {
	lookup Lookup
}

// New returns an Authenticator over lookup.
func New(lookup Lookup) *Authenticator { return &Authenticator{lookup: lookup} }

// Authenticate returns the principal of a valid, unrevoked token. It
// returns ErrNoToken, ErrBadToken or ErrRevoked when the token is not one
// to accept, and an *UnavailableError when it could not be checked.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	if strings.TrimSpace(token) == "" {
		return Principal{}, ErrNoToken
	}
	id, secret, err := Split(token)
	if err != nil {
		return Principal{}, err
	}
	rec, err := a.lookup(ctx, id)
	if errors.Is(err, ErrUnknownToken) {
		return Principal{}, ErrBadToken
	}
	if err != nil {
		return Principal{}, &UnavailableError{TokenID: id, Err: err}
	}
	if subtle.ConstantTimeCompare(rec.SecretHash, HashSecret(secret)) != 1 {
		return Principal{}, ErrBadToken
	}
	if rec.Revoked {
		return Principal{}, ErrRevoked
	}
	role, err := ParseRole(rec.Role)
	if err != nil {
		return Principal{}, ErrBadToken
	}
	return Principal{TokenID: id, Name: rec.Name, Role: role}, nil
}
