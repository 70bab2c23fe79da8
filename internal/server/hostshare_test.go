package server

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
)

// asHost makes r look as if it came with host's verified client certificate.
func asHost(r *http.Request, host string) *http.Request {
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: host}}
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}
	return r
}

// TestOneHostHoldsAtMostItsShare holds two nonce requests, or two waits,
// of one host in the handler: the host's next is refused 429 host.busy at
// once (not after waiting for a slot), with Retry-After and the connection
// closed, while another host is served and the refusal is counted.
func TestOneHostHoldsAtMostItsShare(t *testing.T) {
	for _, path := range []string{"/agent/v1/nonce", "/agent/v1/wait"} {
		t.Run(path, func(t *testing.T) { holdShare(t, path) })
	}
}

func holdShare(t *testing.T, path string) {
	release := make(chan struct{})
	var inside, done sync.WaitGroup
	var mu sync.Mutex
	refused := map[string]int{}
	h := admission(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			inside.Done()
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}), admissionConfig{Limit: 64, Wait: time.Second, PerHost: 2, Waits: 2, Refused: func(c, _ string) { mu.Lock(); refused[c]++; mu.Unlock() }})
	inside.Add(2)
	for range 2 {
		done.Add(1)
		go func() {
			defer done.Done()
			r := asHost(httptest.NewRequest("GET", path, nil), "mallory")
			r.Header.Set("X-Hold", "1")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	inside.Wait()
	began := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, asHost(httptest.NewRequest("GET", path, nil), "mallory"))
	var e api.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 429 || e.Code != "host.busy" {
		t.Errorf("mallory's third request: %d %s (%v), want 429 host.busy", rec.Code, rec.Body, err)
	}
	if took := time.Since(began); took > 500*time.Millisecond {
		t.Errorf("refused after %s: a host over its share must not wait for a slot", took)
	}
	if rec.Header().Get("Retry-After") == "" || rec.Header().Get("Connection") != "close" {
		t.Errorf("refusal headers %v, want Retry-After and Connection: close", rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, asHost(httptest.NewRequest("GET", path, nil), "honest"))
	if rec.Code != 200 {
		t.Errorf("another host while mallory holds its share: %d, want 200", rec.Code)
	}
	close(release)
	done.Wait()
	if refused["host.busy"] != 1 {
		t.Errorf("refusals counted %v, want one host.busy", refused)
	}
	if n := h.(*admitter).shares.inFlight() + h.(*admitter).waits.inFlight(); n != 0 {
		t.Errorf("%d hosts still counted in flight after every request ended", n)
	}
}

// TestNonceAllowance spends a host's burst, then checks the refusal says
// when to come back, that the bucket refills at its rate, that another
// host is not affected, and that lapsed entries are dropped.
func TestNonceAllowance(t *testing.T) {
	b := newNonceBuckets(NonceAllowance{Burst: 3, Every: time.Second})
	now := time.Unix(1_000_000, 0)
	for i := range 3 {
		if _, ok := b.take("mallory", now); !ok {
			t.Fatalf("nonce %d of a burst of 3 refused", i+1)
		}
	}
	wait, ok := b.take("mallory", now)
	if ok || wait != time.Second {
		t.Errorf("fourth nonce at once: ok %v, wait %s; want refused, 1s", ok, wait)
	}
	if _, ok := b.take("honest", now); !ok {
		t.Error("another host refused while mallory is over its allowance")
	}
	if _, ok := b.take("mallory", now.Add(time.Second)); !ok {
		t.Error("a nonce a second later refused: the bucket does not refill")
	}
	if _, ok := b.take("mallory", now.Add(time.Second)); ok {
		t.Error("two nonces refilled in one second")
	}
	for i := range 2 * minNoncePrune {
		b.take("host-"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Second))
	}
	if n := len(b.full); n > minNoncePrune+10 {
		t.Errorf("%d buckets kept for hosts that asked once, each an hour apart: lapsed entries are not dropped", n)
	}
}

// TestBodiesInMemoryAreBounded serves one evidence request, its body held
// in the handler, with a bound of one body in memory: another host's
// evidence is told 503 verifier.busy after the wait, before its body is
// read, while a nonce (no body) is still served.
func TestBodiesInMemoryAreBounded(t *testing.T) {
	release := make(chan struct{})
	inside := make(chan struct{})
	h := admission(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			close(inside)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}), admissionConfig{Limit: 64, Wait: 50 * time.Millisecond, PerHost: 2, Bodies: 1, Body: defaultBodyPace})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := asHost(httptest.NewRequest("POST", "/agent/v1/evidence", strings.NewReader("{}")), "first")
		r.Header.Set("X-Hold", "1")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	<-inside
	rec := httptest.NewRecorder()
	body := &countingReader{r: strings.NewReader("{}")}
	h.ServeHTTP(rec, asHost(httptest.NewRequest("POST", "/agent/v1/evidence", body), "second"))
	if rec.Code != http.StatusServiceUnavailable || body.n != 0 {
		t.Errorf("a second body over the bound: %d, %d bytes read; want 503 before reading", rec.Code, body.n)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, asHost(httptest.NewRequest("GET", "/agent/v1/nonce", nil), "second"))
	if rec.Code != http.StatusOK {
		t.Errorf("a nonce while the bodies are taken: %d, want 200", rec.Code)
	}
	close(release)
	<-done
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}
