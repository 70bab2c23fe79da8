package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/verifier"
)

// Config wires the API.
type Config struct {
	Verifier *verifier.Verifier
	Auth     *auth.Authenticator
	Log      *slog.Logger
	// TokenKeysPEM is the trust-token verification key, published at
	// /.well-known/bootproof/trust-token-keys.pem.
	TokenKeysPEM []byte
	// MaxWait bounds an agent's long poll (default DefaultMaxWait).
	MaxWait time.Duration
	// Parker, when set, takes waiting agents' connections off net/http's
	// goroutines (park.go); without it every wait is held in its handler.
	Parker *Parker
}

// DefaultMaxWait is the longest long poll by default. Agents ask for the
// time left until their next attestation, so a fleet on a 5-minute
// interval makes about one wait per host per attestation; TCP keep-alive
// (on by default at both ends) keeps the idle connection alive through NAT.
const DefaultMaxWait = 10 * time.Minute

// route is one entry of the route table.
type route struct {
	Method, Path string
	// Role is the least role that may call it; 0 means no API token
	// (agent routes authenticate with their client certificate instead).
	Role    auth.Role
	Agent   bool // needs an enrolled agent's client certificate
	handler func(*server, http.ResponseWriter, *http.Request) error
}

// routes is the one route table. openapi.yaml describes the /api/v1 part.
var routes = []route{
	{"GET", "/api/v1/version", 0, false, (*server).version},
	{"GET", "/api/v1/openapi.yaml", 0, false, (*server).openAPI},
	{"GET", "/api/v1/hosts", auth.Viewer, false, (*server).listHosts},
	{"GET", "/api/v1/hosts/{name}", auth.Viewer, false, (*server).getHost},
	{"DELETE", "/api/v1/hosts/{name}", auth.Admin, false, (*server).deleteHost},
	{"POST", "/api/v1/hosts/{name}/attest", auth.Operator, false, (*server).attestHost},
	{"POST", "/api/v1/hosts/{name}/move", auth.Operator, false, (*server).moveHost},
	{"POST", "/api/v1/hosts/{name}/approve-ek", auth.Admin, false, (*server).approveEK},
	{"GET", "/api/v1/hosts/{name}/verdict", auth.Viewer, false, (*server).hostVerdict},
	{"GET", "/api/v1/hosts/{name}/evidence", auth.Viewer, false, (*server).hostEvidence},
	{"GET", "/api/v1/hosts/{name}/history", auth.Viewer, false, (*server).hostHistory},
	{"GET", "/api/v1/hosts/{name}/attestations", auth.Viewer, false, (*server).hostAttestations},
	{"GET", "/api/v1/hosts/{name}/placement", auth.Viewer, false, (*server).hostPlacement},
	{"POST", "/api/v1/hosts/{name}/trust-token", auth.Viewer, false, (*server).trustToken},
	{"POST", "/api/v1/attest", auth.Operator, false, (*server).attestMany},
	{"POST", "/api/v1/hosts/accept", auth.Operator, false, (*server).acceptPins},
	{"GET", "/api/v1/groups", auth.Viewer, false, (*server).listGroups},
	{"GET", "/api/v1/groups/{name}/policy", auth.Viewer, false, (*server).getPolicy},
	{"PUT", "/api/v1/groups/{name}/policy", auth.Admin, false, (*server).putPolicy},
	{"GET", "/api/v1/groups/{name}/policy/versions", auth.Viewer, false, (*server).policyVersions},
	{"GET", "/api/v1/groups/{name}/policy/versions/{version}", auth.Viewer, false, (*server).policyVersion},
	{"POST", "/api/v1/groups/{name}/policy:rollback", auth.Admin, false, (*server).rollbackPolicy},
	{"POST", "/api/v1/groups/{name}/policy:preview", auth.Operator, false, (*server).previewPolicy},
	{"POST", "/api/v1/groups/{name}/learn", auth.Operator, false, (*server).learnPolicy},
	{"GET", "/api/v1/join-tokens", auth.Operator, false, (*server).listJoinTokens},
	{"POST", "/api/v1/join-tokens", auth.Operator, false, (*server).createJoinToken},
	{"GET", "/api/v1/api-tokens", auth.Admin, false, (*server).listAPITokens},
	{"POST", "/api/v1/api-tokens", auth.Admin, false, (*server).createAPIToken},
	{"DELETE", "/api/v1/api-tokens/{id}", auth.Admin, false, (*server).revokeAPIToken},
	{"GET", "/api/v1/report", auth.Viewer, false, (*server).report},
	{"GET", "/api/v1/audit", auth.Operator, false, (*server).audit},

	{"POST", "/agent/v1/enroll", 0, false, (*server).agentEnroll},
	{"POST", "/agent/v1/activate", 0, false, (*server).agentActivate},
	{"POST", "/agent/v1/reactivate", 0, true, (*server).agentReactivate},
	{"GET", "/agent/v1/nonce", 0, true, (*server).agentNonce},
	{"POST", "/agent/v1/evidence", 0, true, (*server).agentEvidence},
	{"GET", "/agent/v1/wait", 0, true, (*server).agentWait},

	{"GET", "/.well-known/bootproof/trust-token-keys.pem", 0, false, (*server).tokenKeys},
	{"GET", "/healthz", 0, false, (*server).healthz},
	{"GET", "/readyz", 0, false, (*server).readyz},
}

type server struct {
	cfg Config
	v   *verifier.Verifier
	log *slog.Logger
}

// Register adds every route to mux.
func Register(mux *http.ServeMux, cfg Config) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	s := &server{cfg: cfg, v: cfg.Verifier, log: cfg.Log}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	// Unknown API paths (and known ones with another method) get a JSON
	// error like every other refusal, not the mux's text page.
	for _, prefix := range []string{"/api/v1/", "/agent/v1/"} {
		mux.Handle(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, s.log, errorf(http.StatusNotFound, "not_found", "no endpoint %s %s", r.Method, r.URL.Path))
		}))
	}
}

func (s *server) wrap(rt route) http.Handler {
	use := connHostUses[rt.Method+" "+rt.Path]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idb := make([]byte, 6)
		_, _ = rand.Read(idb)
		r = r.WithContext(context.WithValue(r.Context(), ctxRequestID{}, hex.EncodeToString(idb)))
		var err error
		switch {
		case rt.Agent:
			r, err = s.agentIdentity(r, use)
		case rt.Role != 0:
			r, err = s.authenticate(r, rt.Role)
		}
		if err == nil {
			err = rt.handler(s, w, r)
		}
		if err != nil {
			writeError(w, r, s.log, s.storeFault(r, err))
		}
	})
}
