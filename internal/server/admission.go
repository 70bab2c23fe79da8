package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bootproof/bootproof/internal/api"
)

// Admission bounds the attestation work in progress. Without a bound, a
// fleet that starts at once (10,000 agents after a power cut) makes the
// verifier read, decode and queue every request at the same time: memory
// grows with the herd, the single store writer falls behind, requests
// outlive their clients' timeouts and are retried on top of themselves.
// With it, a request beyond the bound waits a short while for a slot and
// is then told "503, retry after N s", and agents back off with jitter:
// the herd spreads itself out while the verifier works at full speed on
// what it admitted.
//
// The slots are shared by every host, so no single host may take more
// than its share of them (issue #19: 250 slow uploads from one host's
// certificate held all 64 and the whole fleet went Unreachable). Before a
// request may wait for a slot, admission identifies its host by the
// verified client certificate (no store access), refuses it when that host
// already has perHostInFlight requests in flight (429 host.busy) or, for
// a nonce, has spent its nonce allowance (429 nonce.rate_limited), and
// reads an evidence body whole under a deadline that requires a minimum
// rate (408 body.too_slow): a slot is only ever held by a request whose
// body is in memory, for the time the verifier's own work takes.
const (
	// maxAttestations is how many nonce and evidence requests run at once.
	// Each holds a decoded evidence (~100 KB) at most; the work is mostly
	// serialised by the store, so more would only queue inside.
	maxAttestations = 64
	// admissionWait is how long a request beyond the bound waits for a
	// slot before it is refused. Short, because a waiting request is not
	// free: its body is already read. With a 10,000-agent cold start a 2 s
	// wait peaked at 0.8 GB, a 20 s wait at 1.3 GB, no bound at 1.8 GB
	// (docs/performance.md).
	admissionWait = 2 * time.Second
	// retryAfter is what the refusal suggests, in seconds.
	retryAfter = 2
	// perHostInFlight is how many nonce and evidence requests one host
	// may have in flight (reading its body, waiting for a slot or being
	// served). An agent attests one request at a time; two leave room for
	// a request it gave up on (its 30 s timeout) that the verifier has not
	// finished yet. Two of 64 slots: 32 compromised hosts together cannot
	// take the slots an honest fleet needs while none of them waits.
	perHostInFlight = 2
	// perHostWaits is how many long polls of one host may be in the
	// verifier's hands before they are parked (being authenticated and
	// registered) or while they are held in their handler (where they
	// cannot be parked). An agent holds one; a parked wait leaves this
	// count, and the Parker keeps one parked wait per host.
	perHostWaits = 2
	// maxBodies bounds the evidence bodies in memory at once: being read,
	// read and waiting for a slot, or being served. A request waiting for
	// a slot holds its body (it was read first), so without this bound a
	// cold start of 10,000 agents, each sending its event log, would hold
	// a body per waiting agent; with it, at most maxBodies x the body
	// (256 x 150 KB with real logs: 38 MB). Four times the slots keeps
	// the slots busy while bodies arrive; a host holds at most
	// perHostInFlight of them, for at most its body's deadline.
	maxBodies = 4 * maxAttestations
)

// admitted are the agent paths whose work admission bounds. Enrolment and
// the long-poll /agent/v1/wait are not: enrolment is rare and bounded by
// join tokens, and a wait does no work while it waits (its per-host bound
// is the Parker's).
var admitted = map[string]bool{"/agent/v1/nonce": true, "/agent/v1/evidence": true}

// admissionConfig are admission's bounds; Refused (may be nil) is told
// each refusal's code and the host refused ("" for verifier.busy of a
// request without a client certificate).
type admissionConfig struct {
	Limit   int            // requests served at once (maxAttestations)
	Wait    time.Duration  // how long one waits for a slot (admissionWait)
	PerHost int            // requests one host may have in flight (perHostInFlight)
	Waits   int            // waits of one host in handlers (perHostWaits)
	Bodies  int            // evidence bodies in memory at once (maxBodies; 0: no bound)
	Nonces  NonceAllowance // each host's nonce allowance
	Body    bodyPace       // how fast an evidence body must come
	Refused func(code, host string)
}

// defaultAdmission is the verifier's admission.
func defaultAdmission(refused func(code, host string)) admissionConfig {
	return admissionConfig{Limit: maxAttestations, Wait: admissionWait, PerHost: perHostInFlight, Waits: perHostWaits, Bodies: maxBodies,
		Nonces: DefaultNonceAllowance, Body: defaultBodyPace, Refused: refused}
}

// admitter is admission's state.
type admitter struct {
	cfg    admissionConfig
	next   http.Handler
	slots  chan struct{}
	bodies chan struct{} // nil: no bound
	shares *hostShares
	waits  *hostShares
	nonces *nonceBuckets
}

// admission bounds next's admitted paths as cfg says.
func admission(next http.Handler, cfg admissionConfig) http.Handler {
	if cfg.Refused == nil {
		cfg.Refused = func(string, string) {}
	}
	var bodies chan struct{}
	if cfg.Bodies > 0 {
		bodies = make(chan struct{}, cfg.Bodies)
	}
	return &admitter{cfg: cfg, next: next, slots: make(chan struct{}, cfg.Limit), bodies: bodies,
		shares: newHostShares(cfg.PerHost), waits: newHostShares(cfg.Waits), nonces: newNonceBuckets(cfg.Nonces)}
}

func (a *admitter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == waitPath {
		a.serveWait(w, r)
		return
	}
	if !admitted[r.URL.Path] {
		a.next.ServeHTTP(w, r)
		return
	}
	host, ok := certHost(r)
	if !ok {
		// No verified client certificate: the route refuses it (401)
		// before reading anything or touching the store.
		a.serveInSlot(w, r, "")
		return
	}
	if r.URL.Path == "/agent/v1/nonce" {
		if wait, ok := a.nonces.take(host, time.Now()); !ok {
			a.refuse(w, host, http.StatusTooManyRequests, "nonce.rate_limited", secondsUp(wait),
				"this host asked for more nonces than an agent needs; retry after the time given")
			return
		}
	}
	a.inShare(w, a.shares, host, "attestation requests in flight", func() {
		if r.Method != http.MethodPost {
			a.serveInSlot(w, r, host)
			return
		}
		if a.bodies != nil {
			if !a.take(a.bodies, w, r, host) {
				return
			}
			defer func() { <-a.bodies }()
		}
		body, release, err := readPaced(w, r, a.cfg.Body)
		if err != nil {
			a.bodyFailed(w, host, err)
			return
		}
		defer release()
		r.Body = body
		a.serveInSlot(w, r, host)
	})
}

// inShare runs serve holding one of host's shares of s, or refuses the
// request 429 host.busy when the host holds all its shares already.
func (a *admitter) inShare(w http.ResponseWriter, s *hostShares, host, what string, serve func()) {
	if !s.acquire(host) {
		a.refuse(w, host, http.StatusTooManyRequests, "host.busy", retryAfter,
			"this host already has as many "+what+" as one host may")
		return
	}
	defer s.release(host)
	serve()
}

// waitPath is the agents' long poll.
const waitPath = "/agent/v1/wait"

// serveWait serves a long poll unless its host has perHostWaits in
// handlers already. A wait takes no slot: it does no work while it waits.
func (a *admitter) serveWait(w http.ResponseWriter, r *http.Request) {
	host, ok := certHost(r)
	if !ok || a.cfg.Waits <= 0 {
		a.next.ServeHTTP(w, r)
		return
	}
	a.inShare(w, a.waits, host, "waits in the verifier's hands", func() { a.next.ServeHTTP(w, r) })
}

// serveInSlot serves r in a shared slot, waiting at most cfg.Wait for one.
func (a *admitter) serveInSlot(w http.ResponseWriter, r *http.Request, host string) {
	if !a.take(a.slots, w, r, host) {
		return
	}
	defer func() { <-a.slots }()
	a.next.ServeHTTP(w, r)
}

// take takes a place in sem, waiting at most cfg.Wait for one; it answers
// 503 verifier.busy and reports false when none came free (or the client
// went away).
func (a *admitter) take(sem chan struct{}, w http.ResponseWriter, r *http.Request, host string) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(a.cfg.Wait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-t.C:
		a.cfg.Refused("verifier.busy", host)
		busy(w)
	case <-r.Context().Done():
	}
	return false
}

// bodyFailed answers a body that did not arrive in time (408) or at all.
func (a *admitter) bodyFailed(w http.ResponseWriter, host string, err error) {
	if errors.Is(err, errBodyTooSlow) {
		a.refuse(w, host, http.StatusRequestTimeout, "body.too_slow", 0,
			"the request body came slower than the verifier reads bodies ("+a.cfg.Body.String()+")")
		return
	}
	// The client went away or sent a broken body: nobody reads an answer.
	a.cfg.Refused("body.unreadable", host)
	w.Header().Set("Connection", "close")
	writeAgentError(w, http.StatusBadRequest, "body.unreadable", "the request body could not be read: "+err.Error(), 0)
}

// refuse counts and answers a refusal of one host's request, closing the
// connection: a host refused its share should open a new one to try
// again, not keep this one.
func (a *admitter) refuse(w http.ResponseWriter, host string, status int, code string, retry int, msg string) {
	a.cfg.Refused(code, host)
	w.Header().Set("Connection", "close")
	writeAgentError(w, status, code, msg, retry)
}

// busy answers like every agent protocol error (JSON code and message);
// agents treat a 503 as "retry later", never as a refusal.
func busy(w http.ResponseWriter) {
	writeAgentError(w, http.StatusServiceUnavailable, "verifier.busy",
		"the verifier is at its attestation limit; retry after a short, jittered wait", retryAfter)
}

// writeAgentError writes the agent protocol's JSON error, with Retry-After
// when retry is positive.
func writeAgentError(w http.ResponseWriter, status int, code, msg string, retry int) {
	w.Header().Set("Content-Type", "application/json")
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Error{Code: code, Message: msg})
}

// secondsUp is d in whole seconds, rounded up, at least 1.
func secondsUp(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// certHost is the host named by r's client certificate, verified against
// the verifier's CA in the TLS handshake. Every certificate the verifier
// issued a host names it, so a host that has been issued several (by
// re-enrolment or AK re-activation) still has one share. Whether the
// certificate is still the host's is the route's check, with the store.
func certHost(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", false
	}
	name := r.TLS.VerifiedChains[0][0].Subject.CommonName
	return name, name != ""
}
