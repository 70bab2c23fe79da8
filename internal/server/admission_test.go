package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestAdmissionBoundsAttestations holds limit evidence requests
// inside the handler and checks that one more is told to retry (503 with
// Retry-After) while enrolment and other paths still get through.
func TestAdmissionBoundsAttestations(t *testing.T) {
	const limit = 8
	release := make(chan struct{})
	var inside sync.WaitGroup
	inside.Add(limit)
	h := admission(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			inside.Done()
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}), admissionConfig{Limit: limit, Wait: 50 * time.Millisecond, PerHost: perHostInFlight})
	var done sync.WaitGroup
	for range limit {
		done.Add(1)
		go func() {
			defer done.Done()
			r := httptest.NewRequest("POST", "/agent/v1/evidence", nil)
			r.Header.Set("X-Hold", "1")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	inside.Wait()
	tests := []struct {
		method, path string
		want         int
	}{
		{"POST", "/agent/v1/evidence", http.StatusServiceUnavailable},
		{"GET", "/agent/v1/nonce", http.StatusServiceUnavailable},
		{"POST", "/agent/v1/enroll", http.StatusOK},
		{"GET", "/api/v1/hosts", http.StatusOK},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s at the limit: %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
		if tt.want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", tt.method, tt.path)
		}
	}
	close(release)
	done.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/agent/v1/evidence", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("after the herd: %d, want 200", rec.Code)
	}
}
