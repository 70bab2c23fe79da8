package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// Readiness is the body of GET /readyz.
type Readiness struct {
	// Status is "ok", or "unavailable" with the 503.
	Status string `json:"status"`
	// Code is CodeStoreUnavailable when not ready.
	Code string `json:"code,omitempty"`
	// Reason says what failed in a sentence ("the verifier cannot write
	// its store"); the error itself is in the verifier's log only, since
	// /readyz needs no token.
	Reason string `json:"reason,omitempty"`
	// LastWrite is when this replica last wrote to its store.
	LastWrite *time.Time `json:"last_write,omitempty"`
	// Checked is when the store was probed (probes are reused for a second).
	Checked time.Time `json:"checked"`
}

// readyz answers 200 when this replica can read and write its store (a
// real one-row write within two seconds, reused for a second), else 503
// with the reason. /healthz stays the liveness check: the process serves.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	h := s.v.StoreHealth(r.Context())
	out := Readiness{Status: "ok", Checked: h.Checked.UTC()}
	if !h.LastWrite.IsZero() {
		lw := h.LastWrite.UTC()
		out.LastWrite = &lw
	}
	status := http.StatusOK
	if !h.Ready {
		out.Status, out.Code, out.Reason = "unavailable", CodeStoreUnavailable, h.Problem
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, out)
	return nil
}

// storeFault turns an error no one classified (it would be a 500
// "internal") into 503 store.unavailable when this replica cannot read or
// write its store just now: the request failed because of the store, and
// the caller should retry, not report a bug. Other errors pass unchanged.
func (s *server) storeFault(r *http.Request, err error) error {
	var he *httpError
	var ve *verifier.Error
	if errors.As(err, &he) || errors.As(err, &ve) || errors.Is(err, store.ErrNotFound) || r.Context().Err() != nil {
		return err
	}
	h := s.v.StoreHealth(r.Context())
	if h.Ready {
		return err
	}
	s.log.Warn("request failed while the store is unavailable", "method", r.Method, "path", r.URL.Path,
		"request_id", requestID(r), "err", err)
	return storeUnavailable("%s; retry later", h.Problem)
}
