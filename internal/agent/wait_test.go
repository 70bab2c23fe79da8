package agent

import (
	"context"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestWaitAsksForTheTimeLeft: the long poll asks for all the time left
// until the next attestation, not a slice of it, and is not cut by the
// per-request timeout; it travels on one connection.
func TestWaitAsksForTheTimeLeft(t *testing.T) {
	var mu sync.Mutex
	var asked []time.Duration
	conns := map[string]bool{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/agent/v1/wait" {
			http.NotFound(w, r)
			return
		}
		ms, err := strconv.Atoi(r.URL.Query().Get("timeout"))
		if err != nil {
			http.Error(w, "timeout?", http.StatusBadRequest)
			return
		}
		mu.Lock()
		asked = append(asked, time.Duration(ms)*time.Millisecond)
		conns[r.RemoteAddr] = true
		mu.Unlock()
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"attest": false}`))
	}))
	defer srv.Close()
	a := newTestAgent(t, srv)
	const interval = time.Second
	start := time.Now()
	if err := a.waitForTurn(context.Background(), interval); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if took < interval*9/10 || took > interval*11/10+a.cfg.Timeout {
		t.Errorf("waited %s for a %s interval (±10%%)", took, interval)
	}
	if len(asked) == 0 || asked[0] < interval*9/10-50*time.Millisecond {
		t.Fatalf("asked for %v, want the whole interval left first", asked)
	}
	// A last wait of a few milliseconds may follow the first.
	if len(asked) > 2 || len(conns) != 1 {
		t.Errorf("%d waits (%v) on %d connections, want at most 2 on 1", len(asked), asked, len(conns))
	}
}

// TestWaitHonoursTheVerifiersHint: a verifier at its bound of parked waits
// answers at once, with attest false and retry_after_seconds, or with 503
// and Retry-After to an agent that asks again too soon. The agent does not
// ask again before the hint or its turn, whichever comes first: it does
// not spin on answers that come at once.
func TestWaitHonoursTheVerifiersHint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		answer   func(w http.ResponseWriter)
		min, max int // waits asked
	}{
		{name: "hint beyond the turn", interval: time.Second, min: 1, max: 1, answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"attest": false, "retry_after_seconds": 600}`))
		}},
		{name: "hint within the turn", interval: 2500 * time.Millisecond, min: 2, max: 4, answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"attest": false, "retry_after_seconds": 1}`))
		}},
		{name: "busy with Retry-After", interval: 1500 * time.Millisecond, min: 1, max: 1, answer: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"code":"wait.over_bound","message":"busy"}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			asked := 0
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked++
				mu.Unlock()
				tc.answer(w)
			}))
			defer srv.Close()
			a := newTestAgent(t, srv)
			start := time.Now()
			if err := a.waitForTurn(context.Background(), tc.interval); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if took < tc.interval*9/10 || took > tc.interval*11/10+a.cfg.Timeout {
				t.Errorf("waited %s for a %s interval (±10%%)", took, tc.interval)
			}
			if asked < tc.min || asked > tc.max {
				t.Errorf("asked %d times, want %d to %d", asked, tc.min, tc.max)
			}
		})
	}
}

// newTestAgent is an agent whose client talks to srv (trusting its
// certificate), with a 200 ms request timeout and backoff up to 1 s.
func newTestAgent(t *testing.T, srv *httptest.Server) *Agent {
	t.Helper()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	const timeout = 200 * time.Millisecond
	api, err := newClient(srv.URL, caPEM, nil, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return &Agent{cfg: Config{Timeout: timeout, MaxBackoff: time.Second}, log: slog.New(slog.DiscardHandler), api: api}
}
