package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// runEnv is a verifier served by Run, as `bootproof verifier` serves it:
// the only way waits get parked.
type runEnv struct {
	s      *Server
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	pool   *x509.CertPool
	key    []byte
	pub    []byte
	certs  map[string][]byte // client certificates by host
}

func startRun(t *testing.T, maxParked int) *runEnv {
	t.Helper()
	dir := t.TempDir()
	ready := make(chan string, 1)
	s, err := Open(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		ServerNames: []string{"127.0.0.1"}, MaxParked: maxParked, Ready: func(a string) { ready <- a }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Verifier.EnsureGroup(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &runEnv{s: s, cancel: cancel, done: make(chan error, 1), pool: s.CA.Pool()}
	go func() { e.done <- s.Run(ctx) }()
	select {
	case e.addr = <-ready:
	case err := <-e.done:
		t.Fatalf("verifier stopped: %v", err)
	}
	t.Cleanup(func() { e.stop(t) })
	if e.key, e.pub, err = pki.NewClientKey(); err != nil {
		t.Fatal(err)
	}
	return e
}

// stop ends Run; it must return by itself, without error.
func (e *runEnv) stop(t *testing.T) {
	t.Helper()
	e.once.Do(func() {
		e.cancel()
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	})
}

// enrolTestHost enrols a host without a TPM straight into the store and
// returns its client certificate for the key whose public part is pubDER.
func enrolTestHost(ctx context.Context, s *Server, name string, pubDER []byte) ([]byte, error) {
	now := time.Now()
	certPEM, err := s.CA.ClientCert(name, pubDER, now, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(certPEM)
	h := store.Host{Name: name, Group: "default", TPMFamily: store.TPMFamilyNone, EnrolledAt: now,
		Status: store.StatusPending, StatusSince: now, ClientCertSHA256: pki.Fingerprint(b.Bytes)}
	if err := s.Store.CreateHost(ctx, h); err != nil {
		return nil, fmt.Errorf("enrol %s: %w", name, err)
	}
	return certPEM, nil
}

// agentConn is one agent connection, spoken to by hand so that the test
// knows every request travels on it.
type agentConn struct {
	c  *tls.Conn
	br *bufio.Reader
}

func (e *runEnv) agent(t *testing.T, host string) *agentConn {
	t.Helper()
	certPEM, err := enrolTestHost(context.Background(), e.s, host, e.pub)
	if err != nil {
		t.Fatal(err)
	}
	if e.certs == nil {
		e.certs = map[string][]byte{}
	}
	e.certs[host] = certPEM
	return e.agentConn(t, host)
}

// agentConn is another connection of host, enrolled by agent.
func (e *runEnv) agentConn(t *testing.T, host string) *agentConn {
	t.Helper()
	cert, err := tls.X509KeyPair(e.certs[host], e.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", e.addr, &tls.Config{RootCAs: e.pool, Certificates: []tls.Certificate{cert},
		ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &agentConn{c: c, br: bufio.NewReader(c)}
}

func (a *agentConn) send(t *testing.T, path string) {
	t.Helper()
	if _, err := fmt.Fprintf(a.c, "GET %s HTTP/1.1\r\nHost: verifier\r\n\r\n", path); err != nil {
		t.Fatalf("send %s: %v", path, err)
	}
}

// read reads one answer, failing the test after limit.
func (a *agentConn) read(t *testing.T, limit time.Duration) (*http.Response, []byte) {
	t.Helper()
	_ = a.c.SetReadDeadline(time.Now().Add(limit))
	defer func() { _ = a.c.SetReadDeadline(time.Time{}) }()
	resp, err := http.ReadResponse(a.br, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func (a *agentConn) waitAnswer(t *testing.T, limit time.Duration) bool {
	t.Helper()
	resp, body := a.read(t, limit)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Close {
		t.Fatalf("wait answered %d %v (close %v): %s", resp.StatusCode, resp.Header, resp.Close, body)
	}
	var w wire.WaitResponse
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("wait answer %q: %v", body, err)
	}
	return w.Attest
}

// nonce asks for a nonce on the same connection: it needs the agent's
// client certificate identity, which must survive the parking.
func (a *agentConn) nonce(t *testing.T) {
	t.Helper()
	a.send(t, "/agent/v1/nonce")
	resp, body := a.read(t, 5*time.Second)
	var n wire.NonceResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &n) != nil || len(n.Nonce) != 32 {
		t.Fatalf("nonce on the parked connection: %d %s", resp.StatusCode, body)
	}
}

func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *runEnv) parked(n int) func() bool {
	return func() bool { return e.s.parker.Parked() == n && e.s.Verifier.Waiting() == n }
}

func (e *runEnv) attestNow(t *testing.T, host string) {
	t.Helper()
	if _, err := e.s.Verifier.AttestNow(context.Background(), "test", store.AttestSelector{Host: host}); err != nil {
		t.Fatal(err)
	}
}

func TestParkedWaitAnswers(t *testing.T) {
	e := startRun(t, 0)
	if e.s.parker == nil {
		t.Skip("no parking on this platform")
	}
	cases := []struct {
		name     string
		timeout  string
		before   bool // attest now requested before the wait
		during   bool // attest now requested while parked
		want     bool
		min, max time.Duration
	}{
		{name: "attest now while parked", timeout: "60000", during: true, want: true, max: time.Second},
		{name: "timeout", timeout: "300", want: false, min: 300 * time.Millisecond, max: 1500 * time.Millisecond},
		{name: "attest now already pending", timeout: "60000", before: true, want: true, max: time.Second},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host := fmt.Sprintf("park-%d", i)
			a := e.agent(t, host)
			if tc.before {
				e.attestNow(t, host)
			}
			start := time.Now()
			a.send(t, "/agent/v1/wait?timeout="+tc.timeout)
			if !tc.before {
				eventually(t, 2*time.Second, "the wait is parked", e.parked(1))
			}
			if tc.during {
				start = time.Now()
				e.attestNow(t, host)
			}
			got := a.waitAnswer(t, 10*time.Second)
			took := time.Since(start)
			if got != tc.want || took < tc.min || took > tc.max {
				t.Errorf("attest=%v after %s, want %v within [%s, %s]", got, took, tc.want, tc.min, tc.max)
			}
			eventually(t, 2*time.Second, "nothing parked", e.parked(0))
			a.nonce(t)
			// The connection waits again; a request stays pending until
			// the host attests, so the answer is the same.
			a.send(t, "/agent/v1/wait?timeout=100")
			if got := a.waitAnswer(t, 5*time.Second); got != tc.want {
				t.Errorf("second wait: attest=%v, want %v", got, tc.want)
			}
			a.nonce(t)
		})
	}
}

func TestParkedAgentHangsUp(t *testing.T) {
	e := startRun(t, 0)
	if e.s.parker == nil {
		t.Skip("no parking on this platform")
	}
	a := e.agent(t, "gone")
	a.send(t, "/agent/v1/wait?timeout=60000")
	eventually(t, 2*time.Second, "the wait is parked", e.parked(1))
	a.c.Close()
	eventually(t, 2*time.Second, "the hung-up agent's wait is forgotten", e.parked(0))
}

// TestOverTheBoundWaitIsAnsweredAtOnce: with --max-parked 2 and three
// agents waiting, two waits park and the third is answered at once with
// attest false and the hint not to wait again before its turn, on a
// connection then closed; the refusal is counted. Asked again at once, as
// an agent that does not know the hint does, it is told 503 with
// Retry-After. The parked two are still woken.
func TestOverTheBoundWaitIsAnsweredAtOnce(t *testing.T) {
	e := startRun(t, 2)
	if e.s.parker == nil {
		t.Skip("no parking on this platform")
	}
	a, b, c := e.agent(t, "first"), e.agent(t, "second"), e.agent(t, "third")
	a.send(t, "/agent/v1/wait?timeout=60000")
	b.send(t, "/agent/v1/wait?timeout=60000")
	eventually(t, 2*time.Second, "two waits parked", e.parked(2))
	start := time.Now()
	c.send(t, "/agent/v1/wait?timeout=60000")
	resp, body := c.read(t, 2*time.Second)
	var w wire.WaitResponse
	if err := json.Unmarshal(body, &w); err != nil || resp.StatusCode != http.StatusOK || w.Attest ||
		w.RetryAfterSeconds != 60 || !resp.Close || time.Since(start) > time.Second {
		t.Fatalf("third wait: %d %s (close %v) after %s, want 200 attest false, retry_after_seconds 60, closing, at once",
			resp.StatusCode, body, resp.Close, time.Since(start))
	}
	if n := e.refused(t); n != 1 {
		t.Errorf("bootproof_agent_waits_refused_total = %v, want 1", n)
	}
	if got := e.s.parker.Parked(); got != 2 {
		t.Errorf("%d parked, want 2", got)
	}

	// An agent that asks again at once is told to back off.
	c2 := e.agentConn(t, "third")
	c2.send(t, "/agent/v1/wait?timeout=60000")
	resp, body = c2.read(t, 2*time.Second)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusServiceUnavailable ||
		err != nil || ra < 50 || ra > 60 {
		t.Errorf("wait asked again at once: %d, Retry-After %q: %s; want 503 with about 54 s",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := e.refused(t); n != 2 {
		t.Errorf("bootproof_agent_waits_refused_total = %v, want 2", n)
	}

	for _, w := range []struct {
		host string
		a    *agentConn
	}{{"first", a}, {"second", b}} {
		e.attestNow(t, w.host)
		if !w.a.waitAnswer(t, 2*time.Second) {
			t.Errorf("%s: attest=false, want true", w.host)
		}
		w.a.nonce(t)
	}
}

// refused reads bootproof_agent_waits_refused_total as /metrics shows it.
func (e *runEnv) refused(t *testing.T) float64 {
	t.Helper()
	return e.metric(t, "bootproof_agent_waits_refused_total").GetCounter().GetValue()
}

// metric is the one series of the metric named name, as /metrics shows it.
func (e *runEnv) metric(t *testing.T, name string) *dto.Metric {
	t.Helper()
	mfs, err := e.s.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0]
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

func TestShutdownClosesParkedConnections(t *testing.T) {
	e := startRun(t, 0)
	if e.s.parker == nil {
		t.Skip("no parking on this platform")
	}
	a := e.agent(t, "parked")
	a.send(t, "/agent/v1/wait?timeout=60000")
	eventually(t, 2*time.Second, "the wait is parked", e.parked(1))
	e.stop(t)
	_ = a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := http.ReadResponse(a.br, nil)
	if err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("read on a parked connection after shutdown: %v, want it closed", err)
	}
	if n := e.s.parker.Parked(); n != 0 {
		t.Errorf("%d still parked after shutdown", n)
	}
}

// TestParkedWaitLateness: a wait that runs out is answered at its deadline
// and /metrics says how late: one observation, well under a second, for
// one wait that ran out; none for a wait an operator's request woke.
func TestParkedWaitLateness(t *testing.T) {
	e := startRun(t, 0)
	if e.s.parker == nil {
		t.Skip("no parking on this platform")
	}
	a := e.agent(t, "late-1")
	start := time.Now()
	a.send(t, "/agent/v1/wait?timeout=300")
	if got := a.waitAnswer(t, 10*time.Second); got || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("attest=%v after %s, want false after 300ms", got, time.Since(start))
	}
	b := e.agent(t, "late-2")
	b.send(t, "/agent/v1/wait?timeout=60000")
	eventually(t, 2*time.Second, "the wait is parked", e.parked(1))
	e.attestNow(t, "late-2")
	if got := b.waitAnswer(t, 10*time.Second); !got {
		t.Fatal("attest now did not wake the wait")
	}
	var count uint64
	var sum float64
	eventually(t, 2*time.Second, "the late answer is observed", func() bool {
		count, sum = e.answeredLate(t)
		return count > 0
	})
	if count != 1 || sum < 0 || sum > 0.5 {
		t.Errorf("answered late: %d observations, %.3f s in all; want 1, under 0.5 s", count, sum)
	}
}

// answeredLate reads bootproof_agent_wait_answered_late_seconds.
func (e *runEnv) answeredLate(t *testing.T) (uint64, float64) {
	t.Helper()
	h := e.metric(t, "bootproof_agent_wait_answered_late_seconds").GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}
