package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The sign-in cookie holds the API token itself (base64url, so any token
// survives cookie encoding), not a server-side session: any verifier replica
// behind a load balancer can then serve any request, and revoking the token
// signs the browser out everywhere at once.
const (
	cookieName      = "bootproof_token"
	cookieMaxAge    = 12 * 60 * 60 // seconds; the browser forgets the token after a working day
	maxTokenLen     = 4096
	csrfField       = "csrf"
	csrfDomain      = "bootproof web csrf v1\x00"
	anonymousName   = "anonymous"
	bearerPrefix    = "bearer "
	maxSignInBody   = 16 << 10
	defaultNextPage = "/"
)

// errNoToken means the request carried no token at all.
var errNoToken = errors.New("no token")

// session is who made a request and how.
type session struct {
	Principal
	token  string // "" when anonymous (authentication turned off)
	cookie bool   // the token came from the cookie, so POSTs need a CSRF token
}

// CSRF is the form token of s: a hash of the API token under a fixed
// domain. Only someone who holds the token can compute it, it needs no
// server state (any replica checks it), and a cross-site page cannot read
// it from ours.
func (s session) CSRF() string {
	if s.token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(csrfDomain + s.token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF reports whether a POSTed form carries s's CSRF token. Requests
// with a Bearer header need none: a browser never adds that header by itself.
func (s session) checkCSRF(r *http.Request) bool {
	if !s.cookie {
		return true
	}
	want := s.CSRF()
	got := r.PostFormValue(csrfField)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// tokenFrom returns the request's token, from the Authorization header
// first, then from the cookie.
func tokenFrom(r *http.Request) (token string, fromCookie bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) < len(bearerPrefix) || !strings.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
			return "", false, fmt.Errorf("authorization header: %w: not a Bearer token", ErrInvalidToken)
		}
		t := strings.TrimSpace(h[len(bearerPrefix):])
		if t == "" || len(t) > maxTokenLen {
			return "", false, fmt.Errorf("authorization header: %w: empty or too long", ErrInvalidToken)
		}
		return t, false, nil
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false, errNoToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) == 0 || len(raw) > maxTokenLen {
		return "", true, fmt.Errorf("cookie %s: %w: not a token", cookieName, ErrInvalidToken)
	}
	return string(raw), true, nil
}

// authenticate finds who made r. It returns an error wrapping
// ErrInvalidToken or errNoToken when the request must sign in, and any
// other error when the Authenticator failed.
func (h *handler) authenticate(ctx context.Context, r *http.Request) (session, error) {
	token, fromCookie, err := tokenFrom(r)
	if errors.Is(err, errNoToken) && h.cfg.AuthDisabled {
		return session{Principal: Principal{Name: anonymousName, Role: RoleViewer}}, nil
	}
	if err != nil {
		return session{}, err
	}
	p, err := h.cfg.Auth.Authenticate(ctx, token)
	if err != nil {
		return session{}, fmt.Errorf("authenticate: %w", err)
	}
	if !p.Can(RoleViewer) {
		return session{}, fmt.Errorf("principal %q has role %q: %w", p.Name, p.Role, ErrInvalidToken)
	}
	return session{Principal: p, token: token, cookie: fromCookie}, nil
}

// mustSignIn reports whether err means "sign in first" rather than a fault.
func mustSignIn(err error) bool {
	return errors.Is(err, errNoToken) || errors.Is(err, ErrInvalidToken)
}

func setTokenCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		MaxAge:   cookieMaxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

func clearTokenCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// localPath returns next when it is a path on this site, else "/": the
// sign-in page must not redirect anywhere else (open redirect).
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return defaultNextPage
	}
	return next
}
