package server

import (
	"net/http"
	"strconv"
	"time"
)

// Admission bounds the attestation work in progress. Without a bound, a
// fleet that starts at once (10,000 agents after a power cut) makes the
// verifier read, decode and queue every request at the same time: memory
// grows with the herd, the single store writer falls behind, requests
// outlive their clients' timeouts and are retried on top of themselves.
// With it, a request beyond the bound waits a short while for a slot and
// is then told "503, retry after N s" before its body is read, and agents
// back off with jitter: the herd spreads itself out while the verifier
// works at full speed on what it admitted.
const (
	// maxAttestations is how many nonce and evidence requests run at once.
	// Each holds a decoded evidence (~100 KB) at most; the work is mostly
	// serialised by the store, so more would only queue inside.
	maxAttestations = 64
	// admissionWait is how long a request beyond the bound waits for a
	// slot before it is refused. Short, because a waiting request is not
	// free: over HTTP/2 its body is already buffered by the server. With a
	// 10,000-agent cold start a 2 s wait peaked at 0.8 GB, a 20 s wait at
	// 1.3 GB, no bound at 1.8 GB (docs/performance.md).
	admissionWait = 2 * time.Second
	// retryAfter is what the refusal suggests, in seconds.
	retryAfter = 2
)

// admitted are the agent paths whose work admission bounds. Enrolment and
// the long-poll /agent/v1/wait are not: enrolment is rare and bounded by
// join tokens, and a wait does no work while it waits.
var admitted = map[string]bool{"/agent/v1/nonce": true, "/agent/v1/evidence": true}

// admission bounds next's admitted paths to limit at once, each waiting
// at most wait for a slot.
func admission(next http.Handler, limit int, wait time.Duration) http.Handler {
	slots := make(chan struct{}, limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !admitted[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(wait)
			select {
			case slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				busy(w)
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}

// busy answers like every agent protocol error (JSON code and message);
// agents treat a 503 as "retry later", never as a refusal.
func busy(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"code":"verifier.busy","message":"the verifier is at its attestation limit; retry after a short, jittered wait"}` + "\n"))
}
