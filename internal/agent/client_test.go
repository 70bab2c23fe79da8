package agent

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBusyVerifier: a 503 or 429 with Retry-After is a BusyError whose
// wait the agent honours (with jitter up to twice the wait); other errors
// back off.
func TestBusyVerifier(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) { busyVerifier(t, status) })
	}
}

func busyVerifier(t *testing.T, status int) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := newClient(srv.URL, caPEM, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = c.do(context.Background(), "GET", "/agent/v1/nonce", nil, nil)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want a BusyError asking for 3s", err)
	}
	for range 20 {
		if w := retryWait(err, newBackoff(time.Minute)); w < 3*time.Second || w > 6*time.Second {
			t.Fatalf("wait %s, want 3s to 6s", w)
		}
	}
	if w := retryWait(errors.New("connection refused"), newBackoff(time.Minute)); w > time.Second {
		t.Errorf("first backoff after an outage = %s, want under 1s", w)
	}
}
