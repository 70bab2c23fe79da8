package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
)

type ctxPrincipal struct{}
type ctxHost struct{}

// authenticate checks the bearer token and the role the route needs.
func (s *server) authenticate(r *http.Request, need auth.Role) (*http.Request, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return r, errorf(http.StatusUnauthorized, "unauthenticated", "an API token is required (Authorization: Bearer ...)")
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), tok)
	if err != nil {
		if errors.Is(err, auth.ErrRevoked) {
			return r, errorf(http.StatusUnauthorized, "token_revoked", "this API token was revoked")
		}
		return r, errorf(http.StatusUnauthorized, "unauthenticated", "the API token is not valid for this verifier")
	}
	if p.Role < need {
		return r, errorf(http.StatusForbidden, "forbidden", "this needs the %s role; the token has %s", need, p.Role)
	}
	return r.WithContext(context.WithValue(r.Context(), ctxPrincipal{}, p)), nil
}

func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(ctxPrincipal{}).(auth.Principal)
	return p
}

// actor names the caller in the audit log.
func actor(r *http.Request) string {
	p := principal(r)
	return "token:" + p.TokenID + " (" + p.Name + ")"
}

// agentIdentity requires a client certificate verified against the
// verifier's CA during the TLS handshake, and one that is still the host's.
func (s *server) agentIdentity(r *http.Request) (*http.Request, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return r, errorf(http.StatusUnauthorized, "agent_certificate_required", "agent requests need the client certificate issued at enrolment")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	h, err := s.v.AgentHost(r.Context(), leaf.Subject.CommonName, pki.Fingerprint(leaf.Raw))
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), ctxHost{}, h)), nil
}

func agentHost(r *http.Request) store.Host {
	h, _ := r.Context().Value(ctxHost{}).(store.Host)
	return h
}
