package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/emurun"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
	"github.com/bootproof/bootproof/internal/store"
)

// fixture is a verifier with two emulated hosts in group "lab" that
// enrolled and attested (Passed), the second of which has an EK change
// waiting for approval.
type fixture struct {
	env     *servertest.Env
	client  *http.Client
	agent   *http.Client // presents esx-01's client certificate
	revoked string       // a revoked viewer token
}

const (
	hostA = "esx-01"
	hostB = "esx-02"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := startFixture(t)
	env := f.env
	stateA := filepath.Join(t.TempDir(), hostA)
	f.runHost(t, hostA, stateA, 0, "")
	f.runHost(t, hostB, filepath.Join(t.TempDir(), hostB), 0, "")
	// esx-02 comes back with another TPM: refused, and held for approval.
	f.runHost(t, hostB, filepath.Join(t.TempDir(), hostB+"-new-tpm"), 4242, "enroll.ek_changed")
	f.agent = agentClient(t, env, stateA)
	f.revoked = env.NewToken(auth.Viewer, "to be revoked")
	id, _, _ := auth.Split(f.revoked)
	if err := env.Server.Store.RevokeAPIToken(context.Background(), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{hostA, hostB} {
		h, err := env.Server.Store.GetHost(context.Background(), n)
		if err != nil || h.Status != store.StatusPassed {
			t.Fatalf("fixture: %s is %q (%v), want Passed", n, h.Status, err)
		}
	}
	return f
}

// startFixture starts a verifier whose group "lab" trusts the emulated
// vendors, with no host yet; it skips with -short.
func startFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("api: these tests boot emulated hosts; skipped with -short")
	}
	env := servertest.Start(t)
	f := &fixture{env: env, client: env.HTTPClient()}
	f.trustEmulatedVendors(t, "lab")
	return f
}

// runHost boots an emulated host in this process and runs its agent once.
// wantErr, when set, is a text the agent's refusal must contain.
func (f *fixture) runHost(t *testing.T, name, state string, seed int64, wantErr string) {
	t.Helper()
	f.runHostAt(t, f.env.URL, name, state, seed, wantErr)
}

// runHostAt is runHost with the agent talking to the verifier at url.
func (f *fixture) runHostAt(t *testing.T, url, name, state string, seed int64, wantErr string) {
	t.Helper()
	f.runProfileAt(t, url, name, emuhost.Good, state, seed, wantErr)
}

// runProfileAt is runHostAt for a host of any emulated profile.
func (f *fixture) runProfileAt(t *testing.T, url, name string, profile emuhost.Profile, state string, seed int64, wantErr string) {
	t.Helper()
	var jt api.JoinTokenResponse
	f.mustJSON(t, "POST", "/api/v1/join-tokens", auth.Operator, fmt.Sprintf(`{"group":"lab","host":%q,"ttl":"10m"}`, name), http.StatusCreated, &jt)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := emurun.Run(ctx, emurun.Config{Name: name, Profile: profile, Seed: seed, MakerCADir: f.env.MakerCADir,
		VerifierURL: url, CAPEM: f.env.CAPEM, StateDir: state, JoinToken: jt.Token, Once: true})
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("fixture: host %s: %v", name, err)
	case wantErr != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(wantErr))):
		t.Fatalf("fixture: host %s: got %v, want an error naming %s", name, err, wantErr)
	}
}

// trustEmulatedVendors makes group trust the emulated OS vendor's bundle
// root, as an operator does for their vendors.
func (f *fixture) trustEmulatedVendors(t *testing.T, group string) {
	t.Helper()
	v, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if st, body, _ := f.do(t, f.client, "PUT", "/api/v1/groups/"+group+"/policy", f.env.AdminToken, b, "application/yaml"); st != http.StatusNoContent {
		t.Fatalf("fixture: set policy of %s: %d %s", group, st, body)
	}
}

// agentClient presents the client certificate the agent got at enrolment.
func agentClient(t *testing.T, env *servertest.Env, state string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "identity.json"))
	if err != nil {
		t.Fatalf("fixture: agent identity: %v", err)
	}
	var id struct {
		ClientKeyPEM  []byte `json:"client_key_pem"`
		ClientCertPEM []byte `json:"client_cert_pem"`
	}
	if err := json.Unmarshal(b, &id); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(id.ClientCertPEM, id.ClientKeyPEM)
	if err != nil {
		t.Fatalf("fixture: agent key pair: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(env.CAPEM)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}}
}

// do sends one request and returns the status, body and headers.
func (f *fixture) do(t *testing.T, c *http.Client, method, path, token string, body []byte, ctype string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp.StatusCode, out, resp.Header
}

// mustJSON calls the API with role's token and a JSON body (or none when
// body is ""), checks the status and decodes the answer into out.
func (f *fixture) mustJSON(t *testing.T, method, path string, role auth.Role, body string, want int, out any) {
	t.Helper()
	var b []byte
	ctype := ""
	if body != "" {
		b, ctype = []byte(body), "application/json"
	}
	st, got, _ := f.do(t, f.client, method, path, f.env.Token(role), b, ctype)
	if st != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, st, got, want)
	}
	if out != nil {
		if err := strictJSON(got, out); err != nil {
			t.Fatalf("%s %s: answer does not decode into %T: %v\n%s", method, path, out, err, got)
		}
	}
}

// state is everything a refused request must leave as it was.
func (f *fixture) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st := f.env.Server.Store
	hosts, _, err := st.ListHosts(ctx, store.HostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := st.ListGroups(ctx)
	jts, _ := st.ListJoinTokens(ctx)
	ats, _ := st.ListAPITokens(ctx)
	_, audits, _ := st.ListAudit(ctx, 1, 0)
	snap := map[string]any{"hosts": hosts, "groups": groups, "join_tokens": jts, "api_tokens": ats, "audit_entries": audits}
	for _, h := range hosts {
		hist, _ := st.History(ctx, h.Name, 1000, 0)
		sums, _ := st.Summaries(ctx, h.Name, time.Time{}, 100000)
		snap["history/"+h.Name], snap["summaries/"+h.Name] = hist, len(sums)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantError checks that an answer is the JSON error the API promises.
func wantError(t *testing.T, status int, body []byte, hdr http.Header, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status %d, want %d (%s)", status, wantStatus, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	if e.Code != wantCode || e.Message == "" {
		t.Errorf("error = %+v, want code %q and a message", e, wantCode)
	}
}

// strictJSON decodes an answer into out, the type the handler encodes: a
// field the answer has and out does not is a wrong type, not noise.
func strictJSON(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}
