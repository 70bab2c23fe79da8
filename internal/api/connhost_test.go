package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// countingStore counts GetHost, the read that authenticates an agent.
type countingStore struct {
	store.Store
	getHost atomic.Int64
}

func (c *countingStore) GetHost(ctx context.Context, name string) (store.Host, error) {
	c.getHost.Add(1)
	return c.Store.GetHost(ctx, name)
}

// connFront is a verifier's agent API on SQLite, served over TLS with
// api.ConnContext as server.Run serves it, and one simulated TPM host.
type connFront struct {
	v     *verifier.Verifier
	st    *countingStore
	url   string
	pool  *x509.CertPool
	maker *makerca.CA
	sim   *loadgen.SimulatedTPM
	im    *loadgen.Image
	clock uint64
}

const connHostName = "conn-01"

func newConnFront(t *testing.T, http2 bool) *connFront {
	t.Helper()
	ctx := t.Context()
	raw, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	f := &connFront{st: &countingStore{Store: raw}}
	certPEM, keyPEM, err := pki.NewCA("conn test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := trusttoken.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trusttoken.NewSigner(tk)
	if err != nil {
		t.Fatal(err)
	}
	if f.maker, err = makerca.LoadOrCreate(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	trust := enroll.NewTrustStore()
	if err := trust.AddAnchor(f.maker.Certificate(), "test maker"); err != nil {
		t.Fatal(err)
	}
	if f.v, err = verifier.New(verifier.Config{Store: f.st, CA: ca, Tokens: signer, EKTrust: trust}); err != nil {
		t.Fatal(err)
	}
	p, err := loadgen.LoadPolicy(5 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.PutPolicy(ctx, "test", "lab", p); err != nil {
		t.Fatal(err)
	}
	ims, err := loadgen.BootImages([]emuhost.Profile{emuhost.Good})
	if err != nil {
		t.Fatal(err)
	}
	f.im = ims[emuhost.Good]
	if f.sim, err = loadgen.NewSimulatedTPM(loadgen.EKECC, loadgen.AKECC, f.maker, connHostName); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	api.Register(mux, api.Config{Verifier: f.v})
	serverCert, err := ca.ServerCert([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(mux)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	hs.EnableHTTP2 = http2
	hs.Config.ConnContext = api.ConnContext
	hs.StartTLS()
	t.Cleanup(hs.Close)
	f.url, f.pool = hs.URL, ca.Pool()
	return f
}

// enrol enrols (or enrols again) the host with a new client key, as an
// agent that lost its state does, and returns a client presenting the
// certificate it got. The client keeps one connection.
func (f *connFront) enrol(t *testing.T, http2 bool) *http.Client {
	t.Helper()
	ctx := t.Context()
	tok, _, err := f.v.CreateJoinToken(ctx, "test", "lab", connHostName, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := f.v.Enroll(ctx, wire.EnrollRequest{ProtocolVersion: 1, JoinToken: tok, Host: connHostName,
		TPMFamily: wire.FamilyTPM20, EKPublic: f.sim.EKPublic, EKCert: f.sim.EKCert, AKPublic: f.sim.AKPublic,
		ClientPublicKey: pub})
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	secret, err := f.sim.ActivateCredential(ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.v.Activate(ctx, wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret})
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	b, _ := pem.Decode(res.ClientCertPEM)
	if b == nil {
		t.Fatal("Activate returned no client certificate")
	}
	cert := tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key}
	tr := &http.Transport{ForceAttemptHTTP2: http2, MaxConnsPerHost: 1, TLSClientConfig: &tls.Config{
		RootCAs: f.pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

// call sends one agent request and decodes its answer into out (on 200)
// or an api.Error (otherwise); it reports whether the request went on a
// connection used before, and over which HTTP version.
func (f *connFront) call(t *testing.T, c *http.Client, method, path string, in, out any) (status int, apiErr api.Error,
	reused bool, proto int) {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), method, f.url+path,
		bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	if resp.StatusCode == http.StatusOK {
		err = dec.Decode(out)
	} else {
		err = dec.Decode(&apiErr)
	}
	if err != nil {
		t.Fatalf("%s %s: %d, body: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, apiErr, reused, resp.ProtoMajor
}

// nonce fetches a nonce on c and quotes it.
func (f *connFront) nonce(t *testing.T, c *http.Client) *wire.Evidence {
	t.Helper()
	var n wire.NonceResponse
	if st, e, _, _ := f.call(t, c, "GET", "/agent/v1/nonce", nil, &n); st != http.StatusOK {
		t.Fatalf("nonce: %d %+v", st, e)
	}
	f.clock += 60_000
	ev, err := f.sim.Evidence(f.im, n.Nonce, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestAttestationReadsHostOnce: an attestation, its nonce and its evidence
// on one connection, reads the host from the store once, over HTTP/1.1 and
// over HTTP/2 (which serves a connection's requests concurrently).
func TestAttestationReadsHostOnce(t *testing.T) {
	for _, tt := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newConnFront(t, tt.http2)
			c := f.enrol(t, tt.http2)
			for i := range 2 { // the second attestation's nonce reads again
				before := f.st.getHost.Load()
				ev := f.nonce(t, c)
				var res wire.EvidenceResult
				st, e, reused, proto := f.call(t, c, "POST", "/agent/v1/evidence", ev, &res)
				if st != http.StatusOK || res.Status != f.im.Expect {
					t.Fatalf("attestation %d: %d %+v %+v, want %s", i, st, e, res, f.im.Expect)
				}
				if !reused || proto != map[bool]int{false: 1, true: 2}[tt.http2] {
					t.Fatalf("attestation %d: evidence on a reused connection %v over HTTP/%d", i, reused, proto)
				}
				if n := f.st.getHost.Load() - before; n != 1 {
					t.Errorf("attestation %d read the host %d times, want 1", i, n)
				}
			}
		})
	}
}

// TestEnrolledAgainBetweenNonceAndEvidence: when the host enrols again
// (new client certificate) after its agent's nonce request, the evidence
// sent on the same connection, judged with the host as the nonce request
// read it, is refused as from a replaced credential and nothing of it is
// recorded.
func TestEnrolledAgainBetweenNonceAndEvidence(t *testing.T) {
	f := newConnFront(t, false)
	old := f.enrol(t, false)
	ev := f.nonce(t, old)
	f.enrol(t, false)
	var res wire.EvidenceResult
	st, e, reused, _ := f.call(t, old, "POST", "/agent/v1/evidence", ev, &res)
	if !reused {
		t.Fatal("the evidence went on another connection than the nonce")
	}
	if st != http.StatusForbidden || e.Code != "agent.credential_replaced" {
		t.Errorf("evidence after re-enrolment: %d %+v %+v, want 403 agent.credential_replaced", st, e, res)
	}
	h, err := f.st.GetHost(t.Context(), connHostName)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != store.StatusPending || h.LastAttested != nil {
		t.Errorf("host after the refused evidence: %s, last attested %v; want Pending, never", h.Status, h.LastAttested)
	}
	if _, err := f.st.LatestEvidence(t.Context(), connHostName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("latest evidence after the refused evidence: %v, want none", err)
	}
	if sums, err := f.st.Summaries(t.Context(), connHostName, time.Time{}, 0); err != nil || len(sums) != 0 {
		t.Errorf("summaries after the refused evidence: %d (%v), want none", len(sums), err)
	}
}

// TestLargeEvidenceClosesConnection: evidence that carries its event log
// is answered with the connection closed, so that the agent parks its next
// wait on a new connection (whose TLS buffers have read nothing that
// large); evidence that names its log and bundles by hash keeps the
// connection for the agent's wait and next attestation.
func TestLargeEvidenceClosesConnection(t *testing.T) {
	f := newConnFront(t, false)
	c := f.enrol(t, false)
	full := f.nonce(t, c)
	var res wire.EvidenceResult
	if st, e, _, _ := f.call(t, c, "POST", "/agent/v1/evidence", full, &res); st != http.StatusOK {
		t.Fatalf("evidence with its log: %d %+v", st, e)
	}
	if res.EventLogSHA256 == "" {
		t.Fatal("the verifier holds no log for the host after evidence with its log")
	}
	var n wire.NonceResponse
	if st, e, reused, _ := f.call(t, c, "GET", "/agent/v1/nonce", nil, &n); st != http.StatusOK || reused {
		t.Fatalf("nonce after evidence with its log: %d %+v, on the same connection %v; want a new connection", st, e, reused)
	}
	f.clock += 60_000
	held, err := f.sim.Evidence(f.im, n.Nonce, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	held.EventLog, held.EventLogSHA256 = nil, res.EventLogSHA256
	if len(res.BundlesSHA256) > 0 {
		held.Bundles, held.BundlesSHA256 = nil, res.BundlesSHA256
	}
	fullBody, _ := json.Marshal(full)
	heldBody, _ := json.Marshal(held)
	if len(fullBody) <= api.KeepAliveEvidenceBytes || len(heldBody) > api.KeepAliveEvidenceBytes {
		t.Fatalf("bodies of %d and %d bytes do not fall either side of %d", len(fullBody), len(heldBody), api.KeepAliveEvidenceBytes)
	}
	if st, e, reused, _ := f.call(t, c, "POST", "/agent/v1/evidence", held, &res); st != http.StatusOK || !reused {
		t.Fatalf("evidence by hash: %d %+v, on the nonce's connection %v", st, e, reused)
	}
	if st, e, reused, _ := f.call(t, c, "GET", "/agent/v1/nonce", nil, &n); st != http.StatusOK || !reused {
		t.Fatalf("nonce after evidence by hash: %d %+v, on the same connection %v; want it kept", st, e, reused)
	}
}
