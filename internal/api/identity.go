package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
)

type ctxPrincipal struct{}
type ctxHost struct{}

// authenticate checks the bearer token and the role the route needs.
func (s *server) authenticate(r *http.Request, need auth.Role) (*http.Request, error) {
	p, err := checkToken(r, s.cfg.Auth, s.log, need)
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), ctxPrincipal{}, p)), nil
}

// checkToken checks r's bearer token with a and the role need; its errors
// are the API's answers (401, 403, or 503 store.unavailable when the token
// cannot be checked at all).
func checkToken(r *http.Request, a *auth.Authenticator, log *slog.Logger, need auth.Role) (auth.Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return auth.Principal{}, errorf(http.StatusUnauthorized, "unauthenticated", "an API token is required (Authorization: Bearer ...)")
	}
	p, err := a.Authenticate(r.Context(), tok)
	if err != nil {
		if auth.IsUnavailable(err) {
			log.Warn("cannot check an API token", "path", r.URL.Path, "request_id", requestID(r), "err", err)
			return p, storeUnavailable("the verifier cannot check the API token now: its store is unavailable; retry later")
		}
		if errors.Is(err, auth.ErrRevoked) {
			return p, errorf(http.StatusUnauthorized, "token_revoked", "this API token was revoked")
		}
		return p, errorf(http.StatusUnauthorized, "unauthenticated", "the API token is not valid for this verifier")
	}
	if p.Role < need {
		return p, errorf(http.StatusForbidden, "forbidden", "this needs the %s role; the token has %s", need, p.Role)
	}
	return p, nil
}

// RequireToken serves next only to requests whose bearer token a accepts
// with at least the role need, and answers the others as every /api/v1
// route does (for routes outside the API, such as /metrics).
func RequireToken(a *auth.Authenticator, log *slog.Logger, need auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := checkToken(r, a, log, need); err != nil {
			if he, ok := err.(*httpError); ok && he.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bootproof"`)
			}
			writeError(w, r, log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
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
// use says whether the route keeps on the connection the host it read, or
// takes the one kept there (see connHost).
func (s *server) agentIdentity(r *http.Request, use connHostUse) (*http.Request, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return r, errorf(http.StatusUnauthorized, "agent_certificate_required", "agent requests need the client certificate issued at enrolment")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	h, err := s.hostOf(r, use, leaf.Subject.CommonName, pki.Fingerprint(leaf.Raw))
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), ctxHost{}, h)), nil
}

// hostOf returns the host named by the client certificate whose SHA-256 is
// fp: the one the connection kept, for a route that takes it and when it is
// fresh; else as AgentHost reads it, kept for a route that keeps it.
func (s *server) hostOf(r *http.Request, use connHostUse, name, fp string) (store.Host, error) {
	c, _ := r.Context().Value(ctxConnHost{}).(*connHost) // nil without ConnContext
	// Taken before the read, so that a kept host's age is never understated.
	now := time.Now()
	if use == connHostTake {
		if h, ok := c.take(fp, now); ok {
			return h, nil
		}
	}
	h, err := s.v.AgentHost(r.Context(), name, fp)
	if err == nil && use == connHostKeep {
		c.keep(h, fp, now)
	}
	return h, err
}

func agentHost(r *http.Request) store.Host {
	h, _ := r.Context().Value(ctxHost{}).(store.Host)
	return h
}

// Why an attestation reads its host once.
//
// An attestation is two requests on one connection: the nonce, then the
// evidence (internal/agent and internal/loadgen keep the connection). Each
// request authenticated its agent by reading the host from the store, and
// under load on PostgreSQL the two reads were 8% of the verifier's CPU and
// two round trips. So the host that a connection's nonce request read is
// kept on the connection, and taken by the connection's next evidence
// request when that presents the same client certificate at most
// connHostFresh later; otherwise, and on every other route, the host is
// read as before.
//
// A kept host may miss a change made between the two requests. What keeps
// the evidence path safe is the record, not this cache: RecordAttestation
// refuses, under the host's row lock, a verdict whose host no longer has
// the client certificate and AK it was judged with (store.Credential), and
// Submit answers agent.credential_replaced, the refusal AgentHost gives
// for a replaced certificate. So a host enrolled again, re-activated or
// removed and enrolled anew between the nonce and the evidence gets no
// verdict judged with its old AK. What the record does not check is read
// as it was when the nonce was issued: the host's group (whose policy
// judges the evidence), its TPM clock baseline and its status (the "from"
// of a status-change webhook). connHostFresh bounds how old that is.

// connHostFresh bounds the age of a kept host. An agent sends its evidence
// as soon as its TPM has quoted: well under a second, seconds with a slow
// TPM. 30 s covers that with a wide margin while keeping short the window
// in which a move to another group or another attestation of the host
// goes unseen; the nonce TTL (2 minutes by default) would allow four times
// that, and past 30 s one more read costs nothing beside the agent's wait.
const connHostFresh = 30 * time.Second

// connHostUse is what an agent route does with its connection's kept host.
type connHostUse uint8

const (
	connHostRead connHostUse = iota // read the host
	connHostKeep                    // read it and keep it on the connection
	connHostTake                    // take the kept host when fresh, else read it
)

// connHostUses are the routes that keep or take the connection's host; all
// other agent routes read it (a wait, for one, must see an attest request
// made a moment ago). TestConnHostRoutes checks that both are routes.
var connHostUses = map[string]connHostUse{
	"GET /agent/v1/nonce":     connHostKeep,
	"POST /agent/v1/evidence": connHostTake,
}

type ctxConnHost struct{}

// ConnContext gives each connection a place for the host its nonce request
// read, for its evidence request. Set it as the http.Server's ConnContext:
// without it every agent request reads its host.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, ctxConnHost{}, new(connHost))
}

// connHost is one connection's kept host. HTTP/1.1 serves a connection's
// requests one at a time, but HTTP/2 serves them at once, hence the lock.
// A connection a Parker hands back is served as a new one, with a new
// connHost (a parked wait keeps nothing of net/http's).
type connHost struct {
	mu   sync.Mutex
	kept *keptHost // nil: none
}

type keptHost struct {
	host            store.Host
	certFingerprint string    // the client certificate it was read for
	at              time.Time // when, at the latest, it was read
}

// keep keeps h, read at at for the certificate whose SHA-256 is fp, in
// place of any host kept before. A nil c keeps nothing.
func (c *connHost) keep(h store.Host, fp string, at time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept = &keptHost{host: h, certFingerprint: fp, at: at}
}

// take returns the kept host if it was kept for certificate fp at most
// connHostFresh before now, and forgets it in any case: a kept host serves
// one evidence request at most, so that a second one (with a nonce of its
// own) reads what the first recorded.
func (c *connHost) take(fp string, now time.Time) (store.Host, bool) {
	if c == nil {
		return store.Host{}, false
	}
	c.mu.Lock()
	k := c.kept
	c.kept = nil
	c.mu.Unlock()
	if k == nil || k.certFingerprint != fp {
		return store.Host{}, false
	}
	if age := now.Sub(k.at); age < 0 || age > connHostFresh {
		return store.Host{}, false
	}
	return k.host, true
}
