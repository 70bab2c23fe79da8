package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// badCase is one request an endpoint must refuse, changing nothing.
type badCase struct {
	name   string
	path   string // concrete path, with query
	body   string
	ctype  string
	agent  bool // send esx-01's client certificate
	status int
	code   string
}

// endpoint is every test of one route: its happy path and its bad input.
// Authentication (no token, bad token, revoked token, too low a role, no
// client certificate) is derived from the route table for every route.
type endpoint struct {
	route string // "METHOD /path" as in the route table
	// happy calls the endpoint as a user would and checks the answer.
	happy func(t *testing.T, f *fixture)
	bad   []badCase
	// noInput says why an endpoint has no bad input to refuse.
	noInput string
}

var (
	malformed = `{"group": `
	// oversized is over every JSON endpoint's bound (the largest, enrol, is 256 KiB).
	oversized = `{"group": "` + strings.Repeat("x", 300<<10) + `"}`
)

// jsonBodyCases are the bad bodies of an endpoint with a JSON body.
func jsonBodyCases(path string, agent bool) []badCase {
	return []badCase{
		{name: "malformed JSON", path: path, body: malformed, ctype: "application/json", agent: agent, status: 400, code: "malformed_json"},
		{name: "unknown field", path: path, body: `{"nonsense": 1}`, ctype: "application/json", agent: agent, status: 400, code: "malformed_json"},
		{name: "two JSON values", path: path, body: `{} {}`, ctype: "application/json", agent: agent, status: 400, code: "malformed_json"},
		{name: "oversized body", path: path, body: oversized, ctype: "application/json", agent: agent, status: 413, code: "body_too_large"},
	}
}

// approveEKBody is an approve-ek request naming the EK with digest hexDigest.
func approveEKBody(hexDigest string) string { return `{"ek":"sha256:` + hexDigest + `"}` }

func unknownHost(pathFmt string) badCase {
	return badCase{name: "unknown host", path: strings.Replace(pathFmt, "{name}", "no-such-host", 1), status: 404, code: "host.not_found"}
}

// endpoints lists every route's tests, destructive ones last.
var endpoints = []endpoint{
	{route: "GET /api/v1/version", noInput: "takes no input",
		happy: func(t *testing.T, f *fixture) {
			var v api.VersionResponse
			f.mustJSON(t, "GET", "/api/v1/version", 0, "", 200, &v)
			if v.API != "v1" || v.AgentProtocol != wire.ProtocolVersion {
				t.Errorf("version = %v", v)
			}
		}},
	{route: "GET /api/v1/openapi.yaml", noInput: "takes no input",
		happy: func(t *testing.T, f *fixture) {
			st, body, _ := f.do(t, f.client, "GET", "/api/v1/openapi.yaml", "", nil, "")
			if st != 200 || !bytes.Equal(body, api.OpenAPI()) {
				t.Errorf("GET openapi.yaml = %d, %d bytes", st, len(body))
			}
		}},
	{route: "GET /healthz", noInput: "takes no input",
		happy: func(t *testing.T, f *fixture) {
			var v map[string]string
			f.mustJSON(t, "GET", "/healthz", 0, "", 200, &v)
			if v["status"] != "ok" {
				t.Errorf("healthz = %v", v)
			}
		}},
	{route: "GET /readyz", noInput: "takes no input",
		happy: func(t *testing.T, f *fixture) {
			var r api.Readiness
			f.mustJSON(t, "GET", "/readyz", 0, "", 200, &r)
			if r.Status != "ok" || r.Code != "" || r.Reason != "" || r.LastWrite == nil || r.Checked.IsZero() {
				t.Errorf("readyz = %+v, want ok with the last write and the probe's time", r)
			}
		}},
	{route: "GET /.well-known/bootproof/trust-token-keys.pem", noInput: "takes no input",
		happy: func(t *testing.T, f *fixture) {
			st, body, _ := f.do(t, f.client, "GET", "/.well-known/bootproof/trust-token-keys.pem", "", nil, "")
			keys, err := trusttoken.ParsePublicKeys(body)
			if st != 200 || err != nil || len(keys) != 1 {
				t.Errorf("trust-token keys = %d, %d keys, %v", st, len(keys), err)
			}
		}},
	{route: "GET /api/v1/hosts",
		happy: func(t *testing.T, f *fixture) {
			var all api.Page[api.Host]
			f.mustJSON(t, "GET", "/api/v1/hosts", auth.Viewer, "", 200, &all)
			if all.Total != 2 || len(all.Items) != 2 || all.Items[0].Name != hostA || all.Items[0].Status != "Passed" || all.Items[0].Group != "lab" {
				t.Fatalf("hosts = %+v", all)
			}
			// Pages: one host at a time, in name order, with the total.
			for i, want := range []string{hostA, hostB} {
				var p api.Page[api.Host]
				f.mustJSON(t, "GET", "/api/v1/hosts?limit=1&offset="+string(rune('0'+i)), auth.Viewer, "", 200, &p)
				if p.Total != 2 || p.Limit != 1 || p.Offset != i || len(p.Items) != 1 || p.Items[0].Name != want {
					t.Errorf("page %d = %+v, want %s", i, p, want)
				}
			}
			var filtered api.Page[api.Host]
			f.mustJSON(t, "GET", "/api/v1/hosts?status=Failed", auth.Viewer, "", 200, &filtered)
			if filtered.Total != 0 {
				t.Errorf("status=Failed selects %+v", filtered)
			}
		},
		bad: []badCase{
			{name: "limit 0", path: "/api/v1/hosts?limit=0", status: 400, code: "bad_parameter"},
			{name: "limit not a number", path: "/api/v1/hosts?limit=ten", status: 400, code: "bad_parameter"},
			{name: "negative offset", path: "/api/v1/hosts?offset=-1", status: 400, code: "bad_parameter"},
			{name: "unknown status", path: "/api/v1/hosts?status=Fine", status: 400, code: "bad_parameter"},
			{name: "unknown sort column", path: "/api/v1/hosts?sort=secret_hash", status: 400, code: "bad_parameter"},
		}},
	{route: "GET /api/v1/hosts/{name}",
		happy: func(t *testing.T, f *fixture) {
			var h api.HostDetail
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA, auth.Viewer, "", 200, &h)
			if h.Name != hostA || h.Status != "Passed" || h.TPMFamily != "2.0" || h.LastAttested == nil || h.EKSHA256 == "" ||
				h.Verdict == nil || h.Verdict.Status != "Passed" || len(h.Verdict.Checks) == 0 {
				t.Errorf("host = %+v", h)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}")}},
	{route: "GET /api/v1/hosts/{name}/verdict",
		happy: func(t *testing.T, f *fixture) {
			var v api.HostVerdict
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/verdict", auth.Viewer, "", 200, &v)
			if v.Host != hostA || v.At.IsZero() || v.Verdict == nil || v.Verdict.Status != "Passed" {
				t.Errorf("verdict = %+v", v)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/verdict")}},
	{route: "GET /api/v1/hosts/{name}/evidence", happy: hostEvidenceHappy,
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/evidence")}},
	{route: "GET /api/v1/hosts/{name}/history",
		happy: func(t *testing.T, f *fixture) {
			var h api.Window[api.HistoryEntry]
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/history", auth.Viewer, "", 200, &h)
			if len(h.Items) != 1 || h.Items[0].From != "Pending" || h.Items[0].To != "Passed" {
				t.Errorf("history = %+v, want one change Pending -> Passed", h.Items)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/history"),
			{name: "limit too large", path: "/api/v1/hosts/" + hostA + "/history?limit=1001", status: 400, code: "bad_parameter"}}},
	{route: "GET /api/v1/hosts/{name}/attestations",
		happy: func(t *testing.T, f *fixture) {
			var a api.Window[api.Attestation]
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/attestations", auth.Viewer, "", 200, &a)
			if len(a.Items) != 1 || a.Items[0].Status != "Passed" || a.Items[0].At.IsZero() || a.Items[0].Count != 1 {
				t.Errorf("attestations = %+v, want the fixture's one", a.Items)
			}
			var none api.Window[api.Attestation]
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/attestations?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), auth.Viewer, "", 200, &none)
			if len(none.Items) != 0 {
				t.Errorf("attestations since the future = %+v", none.Items)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/attestations"),
			{name: "since not a time", path: "/api/v1/hosts/" + hostA + "/attestations?since=yesterday", status: 400, code: "bad_parameter"},
			{name: "offset too large", path: "/api/v1/hosts/" + hostA + "/attestations?offset=100001", status: 400, code: "bad_parameter"}}},
	{route: "GET /api/v1/hosts/{name}/placement",
		happy: func(t *testing.T, f *fixture) {
			var d verifier.Decision
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/placement", auth.Viewer, "", 200, &d)
			if d.Host != hostA || !d.Allow || !d.Fresh || !d.Trusted || d.Status != "Passed" {
				t.Errorf("placement = %+v, want allow", d)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/placement")}},
	{route: "POST /api/v1/hosts/{name}/trust-token",
		happy: func(t *testing.T, f *fixture) {
			var out api.TrustTokenResponse
			f.mustJSON(t, "POST", "/api/v1/hosts/"+hostA+"/trust-token?audience=scheduler", auth.Viewer, "", 200, &out)
			// A relying party checks it offline with the published key.
			_, pemKeys, _ := f.do(t, f.client, "GET", "/.well-known/bootproof/trust-token-keys.pem", "", nil, "")
			keys, err := trusttoken.ParsePublicKeys(pemKeys)
			if err != nil {
				t.Fatal(err)
			}
			c, err := trusttoken.Verify(out.Token, keys, trusttoken.Expectations{Issuer: "bootproof", Audience: "scheduler", Now: time.Now()})
			if err != nil {
				t.Fatalf("verify trust token offline: %v", err)
			}
			if c.Subject != hostA || c.Status != "Passed" || c.Placement != "allow" || c.Group != "lab" ||
				out.Claims == nil || *out.Claims != *c {
				t.Errorf("claims = %+v", c)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/trust-token")}},
	{route: "GET /agent/v1/nonce",
		happy: func(t *testing.T, f *fixture) {
			st, body, _ := f.do(t, f.agent, "GET", "/agent/v1/nonce", "", nil, "")
			var n wire.NonceResponse
			if st != 200 || strictJSON(body, &n) != nil || len(n.Nonce) < 16 {
				t.Errorf("nonce = %d %s", st, body)
			}
		},
		noInput: "takes no input; an unknown agent is refused by the certificate check"},
	{route: "GET /agent/v1/wait",
		happy: func(t *testing.T, f *fixture) {
			st, body, _ := f.do(t, f.agent, "GET", "/agent/v1/wait?timeout=50", "", nil, "")
			var w wire.WaitResponse
			if st != 200 || strictJSON(body, &w) != nil || w.Attest {
				t.Errorf("wait = %d %s, want attest false after the timeout", st, body)
			}
		},
		noInput: "a bad timeout falls back to the server's bound"},
	{route: "POST /agent/v1/enroll",
		happy: func(t *testing.T, f *fixture) {
			// The fixture's hosts enrolled through it; the stored result shows.
			h, err := f.env.Server.Store.GetHost(context.Background(), hostA)
			if err != nil || len(h.AKPublic) == 0 || h.ClientCertSHA256 == "" || h.EKDigest == "" {
				t.Errorf("enrolled host = %+v, %v", h, err)
			}
		},
		bad: jsonBodyCases("/agent/v1/enroll", false)},
	{route: "POST /agent/v1/activate",
		happy: func(t *testing.T, f *fixture) {
			h, _ := f.env.Server.Store.GetHost(context.Background(), hostA)
			if h.ClientCertSHA256 == "" {
				t.Error("no client certificate was issued at activation")
			}
		},
		bad: append(jsonBodyCases("/agent/v1/activate", false),
			badCase{name: "unknown challenge", path: "/agent/v1/activate", body: `{"challenge_id": "nope"}`, ctype: "application/json", status: 401, code: "enroll.challenge_unknown"})},
	{route: "POST /agent/v1/reactivate",
		happy: func(t *testing.T, f *fixture) {
			// The host asks to prove a (here: its current) AK again; the
			// verifier answers with a credential challenge against its EK.
			h, _ := f.env.Server.Store.GetHost(context.Background(), hostA)
			body, _ := json.Marshal(wire.ReactivateRequest{AKPublic: h.AKPublic})
			st, got, _ := f.do(t, f.agent, "POST", "/agent/v1/reactivate", "", body, "application/json")
			var ch wire.EnrollChallenge
			if st != 200 || strictJSON(got, &ch) != nil || ch.ChallengeID == "" || len(ch.CredentialBlob) == 0 || len(ch.EncryptedSeed) == 0 {
				t.Errorf("reactivate = %d %s", st, got)
			}
		},
		bad: append(jsonBodyCases("/agent/v1/reactivate", true),
			badCase{name: "AK not a TPMT_PUBLIC", path: "/agent/v1/reactivate", body: `{"ak_public": "AAAA"}`, ctype: "application/json", agent: true, status: 400, code: "enroll.ak_refused"})},
	{route: "POST /agent/v1/evidence",
		happy: func(t *testing.T, f *fixture) {
			sums, err := f.env.Server.Store.Summaries(context.Background(), hostA, time.Time{}, 10)
			if err != nil || len(sums) == 0 {
				t.Errorf("the fixture's evidence left no attestation: %v", err)
			}
		},
		bad: append(jsonBodyCases("/agent/v1/evidence", true)[:3],
			badCase{name: "oversized body", path: "/agent/v1/evidence", body: `{"event_log": "` + strings.Repeat("A", wire.MaxBodyBytes) + `"}`,
				ctype: "application/json", agent: true, status: 413, code: "body_too_large"},
			badCase{name: "nonce never issued", path: "/agent/v1/evidence", body: `{"nonce": "AAAA", "tpm_family": "2.0"}`,
				ctype: "application/json", agent: true, status: 409, code: "nonce.unknown"})},
	{route: "GET /api/v1/groups",
		happy: func(t *testing.T, f *fixture) {
			var g api.List[api.Group]
			f.mustJSON(t, "GET", "/api/v1/groups", auth.Viewer, "", 200, &g)
			if len(g.Items) != 1 || g.Items[0].Name != "lab" {
				t.Errorf("groups = %+v", g)
			}
		},
		noInput: "takes no input"},
	{route: "GET /api/v1/groups/{name}/policy",
		happy: func(t *testing.T, f *fixture) {
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/groups/lab/policy", f.env.Token(auth.Viewer), nil, "")
			p, err := policy.Parse(body)
			if st != 200 || err != nil || len(p.Bundles.TrustedRoots) == 0 || !strings.Contains(hdr.Get("Content-Type"), "yaml") {
				t.Errorf("policy = %d %v %s", st, err, body)
			}
		},
		bad: []badCase{{name: "unknown group", path: "/api/v1/groups/nope/policy", status: 404, code: "group.not_found"}}},
	{route: "GET /api/v1/groups/{name}/policy/versions",
		happy: func(t *testing.T, f *fixture) {
			var vs api.List[api.PolicyVersion]
			f.mustJSON(t, "GET", "/api/v1/groups/lab/policy/versions", auth.Viewer, "", 200, &vs)
			if len(vs.Items) == 0 || vs.Items[0].Group != "lab" || vs.Items[0].Policy != "" {
				t.Errorf("versions = %+v, want lab's, without YAML", vs)
			}
		},
		bad: []badCase{{name: "unknown group", path: "/api/v1/groups/nope/policy/versions", status: 404, code: "group.not_found"}}},
	{route: "GET /api/v1/groups/{name}/policy/versions/{version}",
		happy: func(t *testing.T, f *fixture) {
			var pv api.PolicyVersion
			f.mustJSON(t, "GET", "/api/v1/groups/lab/policy/versions/1", auth.Viewer, "", 200, &pv)
			if _, err := policy.Parse([]byte(pv.Policy)); err != nil || pv.Version != 1 {
				t.Errorf("version 1 = %+v (%v)", pv, err)
			}
		},
		bad: []badCase{
			{name: "not a number", path: "/api/v1/groups/lab/policy/versions/x", status: 400, code: "policy.version"},
			{name: "absent version", path: "/api/v1/groups/lab/policy/versions/99", status: 404, code: "policy.version_not_found"},
		}},
	{route: "POST /api/v1/groups/{name}/policy:rollback",
		happy: func(t *testing.T, f *fixture) {
			var pv api.PolicyVersion
			f.mustJSON(t, "POST", "/api/v1/groups/lab/policy:rollback", auth.Admin, `{"version":1}`, 200, &pv)
			if pv.Version < 2 || pv.Comment != "rollback to version 1" {
				t.Errorf("rollback = %+v", pv)
			}
		},
		bad: append(jsonBodyCases("/api/v1/groups/lab/policy:rollback", false),
			badCase{name: "version 0", path: "/api/v1/groups/lab/policy:rollback", body: `{"version":0}`, ctype: "application/json", status: 400, code: "policy.version"},
			badCase{name: "absent version", path: "/api/v1/groups/lab/policy:rollback", body: `{"version":99}`, ctype: "application/json", status: 404, code: "policy.version_not_found"})},
	{route: "POST /api/v1/groups/{name}/policy:preview",
		happy: func(t *testing.T, f *fixture) {
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/groups/lab/policy", f.env.Token(auth.Viewer), nil, "")
			if st != 200 {
				t.Fatalf("policy = %d %s", st, body)
			}
			st, body, _ = f.do(t, f.client, "POST", "/api/v1/groups/lab/policy:preview", f.env.Token(auth.Operator), body, hdr.Get("Content-Type"))
			var pv verifier.Preview
			if err := strictJSON(body, &pv); st != 200 || err != nil || pv.Hosts != 2 || pv.Unchanged != 2 || pv.Changes == nil {
				t.Errorf("preview of the current policy = %d %+v (%v), want 2 hosts unchanged", st, pv, err)
			}
		},
		bad: []badCase{
			{name: "not YAML", path: "/api/v1/groups/lab/policy:preview", body: "interval: [", ctype: "application/yaml", status: 400, code: "policy.invalid"},
			{name: "listed 0", path: "/api/v1/groups/lab/policy:preview?listed=0", body: "interval: 5m\n", ctype: "application/yaml", status: 400, code: "preview.listed"},
			{name: "unknown group", path: "/api/v1/groups/nope/policy:preview", body: "interval: 5m\n", ctype: "application/yaml", status: 404, code: "group.not_found"},
			{name: "oversized body", path: "/api/v1/groups/lab/policy:preview", body: "# " + strings.Repeat("x", policy.MaxPolicyBytes), ctype: "application/yaml", status: 413, code: "body_too_large"},
		}},
	{route: "PUT /api/v1/groups/{name}/policy",
		happy: func(t *testing.T, f *fixture) {
			p := policy.Default()
			p.Enforcement = policy.EnforceWarn
			b, _ := p.Marshal()
			if st, body, _ := f.do(t, f.client, "PUT", "/api/v1/groups/staging/policy", f.env.AdminToken, b, "application/yaml"); st != 204 {
				t.Fatalf("put policy = %d %s", st, body)
			}
			_, body, _ := f.do(t, f.client, "GET", "/api/v1/groups/staging/policy", f.env.AdminToken, nil, "")
			if got, err := policy.Parse(body); err != nil || got.Enforcement != policy.EnforceWarn {
				t.Errorf("stored policy = %v %s", err, body)
			}
		},
		bad: []badCase{
			{name: "not YAML", path: "/api/v1/groups/lab/policy", body: "interval: [", ctype: "application/yaml", status: 400, code: "policy.invalid"},
			{name: "unknown key", path: "/api/v1/groups/lab/policy", body: "secure_boot_requird: true\n", ctype: "application/yaml", status: 400, code: "policy.invalid"},
			{name: "oversized body", path: "/api/v1/groups/lab/policy", body: "# " + strings.Repeat("x", policy.MaxPolicyBytes), ctype: "application/yaml", status: 413, code: "body_too_large"},
		}},
	{route: "POST /api/v1/groups/{name}/learn",
		happy: func(t *testing.T, f *fixture) {
			var res api.LearnResponse
			f.mustJSON(t, "POST", "/api/v1/groups/lab/learn", auth.Operator, `{"host":"`+hostA+`"}`, 200, &res)
			p, err := policy.Parse([]byte(res.Policy))
			if err != nil || !res.Applied || len(p.References.Kernel) == 0 || len(p.References.Bootloader) == 0 {
				t.Fatalf("learn = %v %+v", err, res)
			}
			_, stored, _ := f.do(t, f.client, "GET", "/api/v1/groups/lab/policy", f.env.AdminToken, nil, "")
			if !bytes.Equal(stored, []byte(res.Policy)) {
				t.Error("the learned policy is not the group's policy")
			}
		},
		bad: append(jsonBodyCases("/api/v1/groups/lab/learn", false),
			badCase{name: "unknown host", path: "/api/v1/groups/lab/learn", body: `{"host":"no-such-host"}`, ctype: "application/json", status: 404, code: "host.not_found"},
			badCase{name: "host of another group", path: "/api/v1/groups/staging/learn", body: `{"host":"` + hostA + `"}`, ctype: "application/json", status: 400, code: "policy.learn_group"},
			badCase{name: "expire not a period", path: "/api/v1/groups/lab/learn", body: `{"host":"` + hostA + `","expire":"a week"}`, ctype: "application/json", status: 400, code: "learn.options"},
			badCase{name: "force without a reason", path: "/api/v1/groups/lab/learn", body: `{"host":"` + hostA + `","force":true,"reason":"  "}`, ctype: "application/json", status: 400, code: "learn.reason_required"},
			badCase{name: "replace an unknown class", path: "/api/v1/groups/lab/learn", body: `{"host":"` + hostA + `","replace":["kernels"]}`, ctype: "application/json", status: 400, code: "learn.options"})},
	{route: "POST /api/v1/hosts/accept",
		happy: func(t *testing.T, f *fixture) {
			restore := pinKernelPerHost(t, f)
			defer restore()
			var out api.AcceptResponse
			f.mustJSON(t, "POST", "/api/v1/hosts/accept", auth.Operator, `{"hosts":["`+hostA+`"],"class":"kernel"}`, 200, &out)
			if len(out.Pins) != 1 || out.Pins[0].Host != hostA || out.Pins[0].Class != "kernel" || out.Pins[0].AcceptedBy == "" || len(out.Pins[0].Digests) == 0 {
				t.Errorf("accept = %+v, want host %s's kernel pinned by the operator", out, hostA)
			}
		},
		bad: append(jsonBodyCases("/api/v1/hosts/accept", false),
			badCase{name: "class not per host", path: "/api/v1/hosts/accept", body: `{"hosts":["` + hostA + `"],"class":"kernel"}`, ctype: "application/json", status: 409, code: "pin.not_per_host"},
			badCase{name: "unknown host", path: "/api/v1/hosts/accept", body: `{"hosts":["no-such-host"],"class":"kernel"}`, ctype: "application/json", status: 404, code: "host.not_found"},
			badCase{name: "not a class", path: "/api/v1/hosts/accept", body: `{"hosts":["` + hostA + `"],"class":"initramfs"}`, ctype: "application/json", status: 400, code: "pin.class"})},
	{route: "GET /api/v1/join-tokens",
		happy: func(t *testing.T, f *fixture) {
			var l api.List[api.JoinTokenInfo]
			f.mustJSON(t, "GET", "/api/v1/join-tokens", auth.Operator, "", 200, &l)
			if len(l.Items) != 3 {
				t.Errorf("join tokens = %+v, want the fixture's 3", l.Items)
			}
			for _, it := range l.Items {
				if strings.Contains(it.ID, "bpj_") {
					t.Errorf("a listed join token shows its secret: %+v", it)
				}
			}
		},
		noInput: "takes no input"},
	{route: "POST /api/v1/join-tokens",
		happy: func(t *testing.T, f *fixture) {
			var jt api.JoinTokenResponse
			f.mustJSON(t, "POST", "/api/v1/join-tokens", auth.Operator, `{"group":"lab","ttl":"1h"}`, 201, &jt)
			if !strings.HasPrefix(jt.Token, "bpj_") || jt.Group != "lab" || time.Until(jt.ExpiresAt) > time.Hour || time.Until(jt.ExpiresAt) < 59*time.Minute {
				t.Errorf("join token = %+v", jt)
			}
		},
		bad: append(jsonBodyCases("/api/v1/join-tokens", false),
			badCase{name: "ttl not a duration", path: "/api/v1/join-tokens", body: `{"ttl":"forever"}`, ctype: "application/json", status: 400, code: "bad_parameter"},
			badCase{name: "ttl too long", path: "/api/v1/join-tokens", body: `{"ttl":"1000h"}`, ctype: "application/json", status: 400, code: "token.ttl"},
			badCase{name: "bad host name", path: "/api/v1/join-tokens", body: `{"host":"a b/c"}`, ctype: "application/json", status: 400, code: "token.host_name"})},
	{route: "GET /api/v1/api-tokens",
		happy: func(t *testing.T, f *fixture) {
			var l api.List[api.APITokenResponse]
			f.mustJSON(t, "GET", "/api/v1/api-tokens", auth.Admin, "", 200, &l)
			revoked := 0
			for _, it := range l.Items {
				if it.Token != "" {
					t.Errorf("a listed API token shows its secret: %+v", it)
				}
				if it.Revoked {
					revoked++
				}
			}
			if len(l.Items) < 3 || revoked != 1 {
				t.Errorf("api tokens = %+v", l.Items)
			}
		},
		noInput: "takes no input"},
	{route: "POST /api/v1/api-tokens",
		happy: func(t *testing.T, f *fixture) {
			var tok api.APITokenResponse
			f.mustJSON(t, "POST", "/api/v1/api-tokens", auth.Admin, `{"name":"ci","role":"viewer"}`, 201, &tok)
			if tok.Role != "viewer" || tok.Name != "ci" {
				t.Fatalf("token = %+v", tok)
			}
			if st, body, _ := f.do(t, f.client, "GET", "/api/v1/hosts", tok.Token, nil, ""); st != 200 {
				t.Errorf("the new token cannot list hosts: %d %s", st, body)
			}
		},
		bad: append(jsonBodyCases("/api/v1/api-tokens", false),
			badCase{name: "unknown role", path: "/api/v1/api-tokens", body: `{"name":"x","role":"root"}`, ctype: "application/json", status: 400, code: "bad_parameter"},
			badCase{name: "no name", path: "/api/v1/api-tokens", body: `{"role":"viewer"}`, ctype: "application/json", status: 400, code: "bad_parameter"})},
	{route: "DELETE /api/v1/api-tokens/{id}",
		happy: func(t *testing.T, f *fixture) {
			tok := f.env.NewToken(auth.Viewer, "short-lived")
			id, _, _ := auth.Split(tok)
			if st, body, _ := f.do(t, f.client, "DELETE", "/api/v1/api-tokens/"+id, f.env.AdminToken, nil, ""); st != 204 {
				t.Fatalf("revoke = %d %s", st, body)
			}
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/hosts", tok, nil, "")
			wantError(t, st, body, hdr, 401, "token_revoked")
		},
		bad: []badCase{{name: "unknown token", path: "/api/v1/api-tokens/000000000000", status: 404, code: "token.not_found"}}},
	{route: "GET /api/v1/report",
		happy: func(t *testing.T, f *fixture) {
			var r api.Report
			f.mustJSON(t, "GET", "/api/v1/report?format=json", auth.Viewer, "", 200, &r)
			if r.GeneratedAt.IsZero() || len(r.Hosts) != 2 || r.Hosts[0].Name != hostA || r.Hosts[0].Group != "lab" || r.Hosts[0].Status != "Passed" || r.Hosts[0].Reasons == nil {
				t.Errorf("json report = %+v", r)
			}
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/report?format=csv", f.env.Token(auth.Viewer), nil, "")
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if st != 200 || err != nil || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || len(rows) != 3 ||
				strings.Join(rows[0][:4], ",") != "name,group,tpm_family,status" || rows[1][0] != hostA || rows[1][3] != "Passed" {
				t.Errorf("csv report = %d %v %q", st, err, rows)
			}
		},
		bad: []badCase{
			{name: "unknown format", path: "/api/v1/report?format=xml", status: 400, code: "bad_parameter"},
			{name: "unknown status", path: "/api/v1/report?status=Good", status: 400, code: "bad_parameter"},
		}},
	{route: "GET /api/v1/audit",
		happy: func(t *testing.T, f *fixture) {
			var a api.Page[api.AuditEntry]
			f.mustJSON(t, "GET", "/api/v1/audit?limit=1000", auth.Operator, "", 200, &a)
			actions := map[string]bool{}
			for _, e := range a.Items {
				actions[e.Action] = true
				if e.At.IsZero() || e.Actor == "" {
					t.Errorf("audit entry without time or actor: %+v", e)
				}
			}
			if a.Total != len(a.Items) || !actions["policy.put"] || !actions["join_token.create"] || !actions["api_token.create"] {
				t.Errorf("audit = %d of %d, actions %v", len(a.Items), a.Total, actions)
			}
		},
		bad: []badCase{{name: "limit too large", path: "/api/v1/audit?limit=5000", status: 400, code: "bad_parameter"}}},
	{route: "POST /api/v1/hosts/{name}/attest",
		happy: func(t *testing.T, f *fixture) {
			var n api.AttestResponse
			f.mustJSON(t, "POST", "/api/v1/hosts/"+hostA+"/attest", auth.Operator, "", 202, &n)
			h, _ := f.env.Server.Store.GetHost(context.Background(), hostA)
			if n.Requested != 1 || h.AttestRequestedAt == nil {
				t.Errorf("attest = %v, host request %v", n, h.AttestRequestedAt)
			}
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}/attest")}},
	{route: "POST /api/v1/attest",
		happy: func(t *testing.T, f *fixture) {
			var n api.AttestResponse
			f.mustJSON(t, "POST", "/api/v1/attest", auth.Operator, `{"group":"lab"}`, 202, &n)
			if n.Requested != 2 {
				t.Errorf("attest group lab = %v, want 2", n)
			}
		},
		bad: append(jsonBodyCases("/api/v1/attest", false),
			badCase{name: "no selector", path: "/api/v1/attest", body: `{}`, ctype: "application/json", status: 400, code: "attest.selector"},
			badCase{name: "two selectors", path: "/api/v1/attest", body: `{"group":"lab","all":true}`, ctype: "application/json", status: 400, code: "attest.selector"})},
	{route: "POST /api/v1/hosts/{name}/approve-ek",
		happy: func(t *testing.T, f *fixture) {
			var h api.HostDetail
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostB, auth.Viewer, "", 200, &h)
			if h.PendingEKInfo == nil || h.PendingEKInfo.Serial == "" || h.PendingEKInfo.Issuer == "" {
				t.Fatalf("pending EK not shown with its certificate: %+v", h.PendingEKInfo)
			}
			body := `{"ek":"` + h.PendingEKInfo.SHA256 + `"}`
			if st, out, _ := f.do(t, f.client, "POST", "/api/v1/hosts/"+hostB+"/approve-ek", f.env.AdminToken, []byte(body), "application/json"); st != 204 {
				t.Fatalf("approve-ek = %d %s", st, out)
			}
			after, _ := f.env.Server.Store.GetHost(context.Background(), hostB)
			if len(after.PendingEKPublic) != 0 || "sha256:"+after.EKDigest != h.PendingEKInfo.SHA256 || len(after.AKPublic) != 0 {
				t.Errorf("EK change not applied: pending=%d, EK %s, want %s with no AK", len(after.PendingEKPublic), after.EKDigest, h.PendingEKInfo.SHA256)
			}
			if after.Status != store.StatusPending {
				t.Errorf("after approve-ek the host is %s, want %s until the new TPM attests", after.Status, store.StatusPending)
			}
		},
		bad: append(jsonBodyCases("/api/v1/hosts/"+hostB+"/approve-ek", false),
			badCase{name: "unknown host", path: "/api/v1/hosts/no-such-host/approve-ek", body: approveEKBody(strings.Repeat("0", 64)), ctype: "application/json", status: 404, code: "host.not_found"},
			badCase{name: "no EK change waiting", path: "/api/v1/hosts/" + hostA + "/approve-ek", body: approveEKBody(strings.Repeat("0", 64)), ctype: "application/json", status: 409, code: "host.no_pending_ek"},
			badCase{name: "no EK named", path: "/api/v1/hosts/" + hostB + "/approve-ek", status: 400, code: "host.ek_required"},
			badCase{name: "EK that is not a digest", path: "/api/v1/hosts/" + hostB + "/approve-ek", body: approveEKBody("esx-02"), ctype: "application/json", status: 400, code: "host.ek_invalid"},
			badCase{name: "another EK than the pending one", path: "/api/v1/hosts/" + hostB + "/approve-ek", body: approveEKBody(strings.Repeat("ab", 32)), ctype: "application/json", status: 409, code: "host.pending_ek_mismatch"})},
	{route: "POST /api/v1/hosts/{name}/move",
		happy: func(t *testing.T, f *fixture) {
			if st, body, _ := f.do(t, f.client, "POST", "/api/v1/hosts/"+hostB+"/move", f.env.Token(auth.Operator), []byte(`{"group":"staging"}`), "application/json"); st != 204 {
				t.Fatalf("move = %d %s", st, body)
			}
			var h api.HostDetail
			f.mustJSON(t, "GET", "/api/v1/hosts/"+hostB, auth.Viewer, "", 200, &h)
			if h.Group != "staging" {
				t.Errorf("%s is in %q, want staging", hostB, h.Group)
			}
		},
		bad: append(jsonBodyCases("/api/v1/hosts/"+hostA+"/move", false),
			badCase{name: "no group", path: "/api/v1/hosts/" + hostA + "/move", body: `{}`, ctype: "application/json", status: 400, code: "bad_parameter"},
			badCase{name: "unknown host", path: "/api/v1/hosts/no-such-host/move", body: `{"group":"lab"}`, ctype: "application/json", status: 404, code: "host.not_found"})},
	{route: "DELETE /api/v1/hosts/{name}",
		happy: func(t *testing.T, f *fixture) {
			if st, body, _ := f.do(t, f.client, "DELETE", "/api/v1/hosts/"+hostB, f.env.AdminToken, nil, ""); st != 204 {
				t.Fatalf("delete = %d %s", st, body)
			}
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/hosts/"+hostB, f.env.AdminToken, nil, "")
			wantError(t, st, body, hdr, 404, "host.not_found")
		},
		bad: []badCase{unknownHost("/api/v1/hosts/{name}")}},
}

// concrete fills a route's path parameters with things that exist.
func concrete(path string) string {
	return strings.NewReplacer("{name}", hostA, "{id}", "000000000000").Replace(path)
}

// TestEveryRouteHasTests fails when a route is added without tests.
func TestEveryRouteHasTests(t *testing.T) {
	have := map[string]endpoint{}
	for _, e := range endpoints {
		if _, dup := have[e.route]; dup {
			t.Errorf("%s is listed twice", e.route)
		}
		have[e.route] = e
	}
	for _, r := range api.RouteTable() {
		k := r.Method + " " + r.Path
		e, ok := have[k]
		switch {
		case !ok:
			t.Errorf("route %s has no entry in endpoints (happy path and bad input)", k)
		case e.happy == nil:
			t.Errorf("route %s has no happy-path test", k)
		case len(e.bad) == 0 && e.noInput == "":
			t.Errorf("route %s has no bad-input test and does not say why it needs none", k)
		}
		delete(have, k)
	}
	for k := range have {
		t.Errorf("endpoints lists %s, which is not in the route table", k)
	}
}

// TestEndpoints runs, for every route, its bad input and every refused
// credential (each must answer a JSON error and change nothing), then its
// happy path.
func TestEndpoints(t *testing.T) {
	f := newFixture(t)
	roles := map[auth.Role]string{}
	for _, r := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
		roles[r] = f.env.Token(r)
	}
	for _, e := range endpoints {
		method, path, _ := strings.Cut(e.route, " ")
		var info api.RouteInfo
		for _, r := range api.RouteTable() {
			if r.Method+" "+r.Path == e.route {
				info = r
			}
		}
		t.Run(e.route, func(t *testing.T) {
			refused := func(name string, c *http.Client, p, token, body, ctype string, status int, code string) {
				t.Run(name, func(t *testing.T) {
					before := f.state(t)
					var b []byte
					if body != "" {
						b = []byte(body)
					}
					st, got, hdr := f.do(t, c, method, p, token, b, ctype)
					wantError(t, st, got, hdr, status, code)
					if after := f.state(t); after != before {
						t.Errorf("a refused request changed the verifier's state")
					}
				})
			}
			// Credentials, derived from the route table.
			switch {
			case info.Agent:
				refused("no client certificate", f.client, path, roles[auth.Admin], "", "", 401, "agent_certificate_required")
			case info.Role != 0:
				p := concrete(path)
				refused("no token", f.client, p, "", "", "", 401, "unauthenticated")
				refused("forged token", f.client, p, "bp_000000000000_"+strings.Repeat("A", 43), "", "", 401, "unauthenticated")
				refused("not a token", f.client, p, "hunter2", "", "", 401, "unauthenticated")
				refused("revoked token", f.client, p, f.revoked, "", "", 401, "token_revoked")
				if info.Role > auth.Viewer {
					refused("role "+(info.Role-1).String(), f.client, p, roles[info.Role-1], `{"group":"lab"}`, "application/json", 403, "forbidden")
				}
			}
			for _, bc := range e.bad {
				c, token := f.client, roles[max(info.Role, auth.Viewer)]
				if bc.agent {
					c, token = f.agent, ""
				}
				refused(bc.name, c, bc.path, token, bc.body, bc.ctype, bc.status, bc.code)
			}
			t.Run("happy path", func(t *testing.T) { e.happy(t, f) })
		})
	}
}

// TestUnknownEndpoint: a path the API does not have is a JSON 404 too.
func TestUnknownEndpoint(t *testing.T) {
	env := servertest.Start(t)
	f := &fixture{env: env, client: env.HTTPClient()}
	for _, rq := range []struct{ method, path string }{{"GET", "/api/v1/nope"}, {"POST", "/api/v1/version"}, {"GET", "/agent/v1/nope"}} {
		st, body, hdr := f.do(t, f.client, rq.method, rq.path, env.AdminToken, nil, "")
		wantError(t, st, body, hdr, 404, "not_found")
	}
}

// pinKernelPerHost makes group lab pin the kernel per host and returns
// what restores its policy.
func pinKernelPerHost(t *testing.T, f *fixture) func() {
	t.Helper()
	_, old, _ := f.do(t, f.client, "GET", "/api/v1/groups/lab/policy", f.env.AdminToken, nil, "")
	p, err := policy.Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	p.PerHost = []string{policy.ClassKernel}
	b, _ := p.Marshal()
	put := func(b []byte) {
		if st, body, _ := f.do(t, f.client, "PUT", "/api/v1/groups/lab/policy", f.env.AdminToken, b, "application/yaml"); st != 204 && st != 200 {
			t.Fatalf("put policy = %d %s", st, body)
		}
	}
	put(b)
	return func() { put(old) }
}
