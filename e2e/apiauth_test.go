package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
)

// authProbes has one line per route of the verifier's route table
// (api.RouteTable): who may call it, written here independently of the
// table so that a route whose role is lowered there fails the test, and
// the body TestAPIAuthAttacks sends. A route added without a line here
// fails the test; the fix is one line, e.g.
// `"GET /readyz": {},` (public) or `"GET /api/v1/x": {role: auth.Viewer},`.
// Path parameters are filled with names that do not exist, so a caller who
// gets past authentication changes nothing that matters (404
// host.not_found and the like).
var authProbes = map[string]authProbe{
	"GET /api/v1/version":                                 {},
	"GET /api/v1/openapi.yaml":                            {},
	"GET /api/v1/hosts":                                   {role: auth.Viewer},
	"GET /api/v1/hosts/{name}":                            {role: auth.Viewer},
	"DELETE /api/v1/hosts/{name}":                         {role: auth.Admin},
	"POST /api/v1/hosts/{name}/attest":                    {role: auth.Operator},
	"POST /api/v1/hosts/{name}/move":                      {role: auth.Operator, body: `{"group":"lab"}`},
	"POST /api/v1/hosts/{name}/approve-ek":                {role: auth.Admin},
	"GET /api/v1/hosts/{name}/verdict":                    {role: auth.Viewer},
	"GET /api/v1/hosts/{name}/evidence":                   {role: auth.Viewer},
	"GET /api/v1/hosts/{name}/history":                    {role: auth.Viewer},
	"GET /api/v1/hosts/{name}/attestations":               {role: auth.Viewer},
	"GET /api/v1/hosts/{name}/placement":                  {role: auth.Viewer},
	"POST /api/v1/hosts/{name}/trust-token":               {role: auth.Viewer},
	"POST /api/v1/hosts/accept":                           {role: auth.Operator, body: `{"hosts":["no-such-host"],"class":"initrd"}`},
	"POST /api/v1/attest":                                 {role: auth.Operator, body: `{"group":"lab"}`},
	"GET /api/v1/groups":                                  {role: auth.Viewer},
	"GET /api/v1/groups/{name}/policy":                    {role: auth.Viewer},
	"PUT /api/v1/groups/{name}/policy":                    {role: auth.Admin, body: "interval: 1h\n", yaml: true},
	"GET /api/v1/groups/{name}/policy/versions":           {role: auth.Viewer},
	"GET /api/v1/groups/{name}/policy/versions/{version}": {role: auth.Viewer},
	"POST /api/v1/groups/{name}/policy:rollback":          {role: auth.Admin, body: `{"version":99}`},
	"POST /api/v1/groups/{name}/policy:preview":           {role: auth.Operator, body: "interval: 1h\n", yaml: true},
	"POST /api/v1/groups/{name}/learn":                    {role: auth.Operator, body: `{"host":"auth-nobody"}`},
	"GET /api/v1/join-tokens":                             {role: auth.Operator},
	"POST /api/v1/join-tokens":                            {role: auth.Operator, body: `{"group":"lab","ttl":"1m"}`},
	"GET /api/v1/api-tokens":                              {role: auth.Admin},
	"POST /api/v1/api-tokens":                             {role: auth.Admin, body: `{"name":"auth-matrix","role":"viewer"}`},
	"DELETE /api/v1/api-tokens/{id}":                      {role: auth.Admin},
	"GET /api/v1/report":                                  {role: auth.Viewer},
	"GET /api/v1/audit":                                   {role: auth.Operator},
	"POST /agent/v1/enroll":                               {body: `{}`},
	"POST /agent/v1/activate":                             {body: `{}`},
	"POST /agent/v1/reactivate":                           {agent: true, body: `{}`},
	"GET /agent/v1/nonce":                                 {agent: true},
	"POST /agent/v1/evidence":                             {agent: true, body: `{}`},
	"GET /agent/v1/wait":                                  {agent: true},
	"GET /.well-known/bootproof/trust-token-keys.pem":     {},
	"GET /healthz":                                        {},
	"GET /readyz":                                         {},
}

// authProbe is who may call one route and how the test calls it.
type authProbe struct {
	// role is the least API-token role the route must demand; 0 with
	// agent false means a public route (no API token).
	role auth.Role
	// agent routes must demand an enrolled agent's client certificate.
	agent bool
	body  string // sent as JSON (or YAML with yaml set)
	yaml  bool
}

// credential is one way of calling: a bearer token (or none) and what it
// is worth to this verifier.
type credential struct {
	name  string
	token string
	role  auth.Role // 0: worth nothing here
	code  string    // the 401 code a worthless credential gets
}

// TestAPIAuthAttacks calls every route of the route table with no token,
// a viewer, an operator and an admin token, a revoked admin token and
// another verifier's admin token, all without a client certificate. A
// route that needs a role answers 401 to the worthless credentials, 403
// below its role and neither at or above it; an agent route answers 401
// agent_certificate_required whatever the token; a public route answers
// every credential as it answers none.
func TestAPIAuthAttacks(t *testing.T) {
	f := newFleet(t)
	other := newFleet(t)
	creds := authCredentials(t, f, other)
	routes := api.RouteTable()
	checkProbesCoverRoutes(t, routes)
	hc := noCertClient(t, f)
	for _, rt := range routes {
		probe, ok := authProbes[rt.Method+" "+rt.Path]
		if !ok {
			continue
		}
		path := regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(rt.Path, "auth-nobody")
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			if rt.Role != probe.role || rt.Agent != probe.agent {
				t.Errorf("the route table says role %s agent %v, authProbes says role %s agent %v", rt.Role, rt.Agent, probe.role, probe.agent)
			}
			anon := authCall(t, hc, f.url, rt.Method, path, "", probe)
			for _, c := range creds {
				t.Run(c.name, func(t *testing.T) {
					got := authCall(t, hc, f.url, rt.Method, path, c.token, probe)
					if msg := judgeAuth(probe, c, anon, got); msg != "" {
						t.Errorf("%s %s with %s: %s", rt.Method, path, c.name, msg)
					}
				})
			}
		})
	}
}

// judgeAuth says what is wrong with got, the answer to c on a route that
// p describes ("" when nothing); anon is the answer to no token at all.
func judgeAuth(p authProbe, c credential, anon, got authAnswer) string {
	switch {
	case p.agent:
		if got.status != 401 || got.code != "agent_certificate_required" {
			return "answered " + got.String() + ", want 401 agent_certificate_required: no client certificate was sent"
		}
	case p.role == 0:
		if got.status != anon.status || got.code != anon.code || got.status >= 500 {
			return "answered " + got.String() + ", and " + anon.String() + " without a token: a public route must not care about bearer tokens"
		}
	case c.role == 0:
		if got.status != 401 || got.code != c.code {
			return "answered " + got.String() + ", want 401 " + c.code
		}
	case c.role < p.role:
		if got.status != 403 || got.code != "forbidden" {
			return "answered " + got.String() + ", want 403 forbidden (the route needs " + p.role.String() + ")"
		}
	case got.status == 401 || got.status == 403 || got.status >= 500:
		return "answered " + got.String() + ", want the route's own answer: the token's role " + c.role.String() + " suffices"
	}
	return ""
}

// checkProbesCoverRoutes fails for a route without a line in authProbes,
// and for a line of a route that is gone.
func checkProbesCoverRoutes(t *testing.T, routes []api.RouteInfo) {
	t.Helper()
	seen := map[string]bool{}
	for _, rt := range routes {
		k := rt.Method + " " + rt.Path
		seen[k] = true
		if _, ok := authProbes[k]; !ok {
			t.Errorf("route %s has no line in authProbes (e2e/apiauth_test.go): add %q: {},", k, k)
		}
	}
	for k := range authProbes {
		if !seen[k] {
			t.Errorf("authProbes lists %s, which is not in the route table", k)
		}
	}
}

// authCredentials mints the viewer and operator tokens, an admin token it
// then revokes, and reads the other verifier's admin token.
func authCredentials(t *testing.T, f, other *fleet) []credential {
	t.Helper()
	mint := func(role string) api.APITokenResponse {
		var out api.APITokenResponse
		if err := f.admin.Do(context.Background(), "POST", "/api/v1/api-tokens", api.APITokenRequest{Name: role + "-tok", Role: role}, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	revoked := mint("admin")
	if err := f.admin.Do(context.Background(), "DELETE", "/api/v1/api-tokens/"+revoked.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	return []credential{
		{name: "no token", code: "unauthenticated"},
		{name: "viewer", token: mint("viewer").Token, role: auth.Viewer},
		{name: "operator", token: mint("operator").Token, role: auth.Operator},
		{name: "admin", token: adminToken(t, f), role: auth.Admin},
		{name: "revoked admin", token: revoked.Token, code: "token_revoked"},
		{name: "another verifier's admin", token: adminToken(t, other), code: "unauthenticated"},
	}
}

func adminToken(t *testing.T, f *fleet) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// noCertClient trusts f's CA and offers no client certificate.
func noCertClient(t *testing.T, f *fleet) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(f.caFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", f.caFile())
	}
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// authAnswer is a status and, for an error, its code.
type authAnswer struct {
	status int
	code   string
}

func (a authAnswer) String() string { return strings.TrimSpace(fmt.Sprintf("%d %s", a.status, a.code)) }

func authCall(t *testing.T, hc *http.Client, base, method, path, token string, p authProbe) authAnswer {
	t.Helper()
	var body io.Reader
	if p.body != "" {
		body = bytes.NewReader([]byte(p.body))
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if p.body != "" {
		ctype := "application/json"
		if p.yaml {
			ctype = "application/yaml"
		}
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	a := authAnswer{status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		var e api.Error
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" {
			t.Fatalf("%s %s: %d without a JSON error body (%v)", method, path, resp.StatusCode, err)
		}
		a.code = e.Code
	}
	return a
}
