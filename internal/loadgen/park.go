package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// Why and how --park holds each host's connection between turns.
//
// bootproof's agent does not reconnect for each attestation: after a
// verdict it sends GET /agent/v1/wait?timeout=<ms until its next turn> on
// its kept-alive connection, the verifier parks the connection
// (internal/api/park.go) and answers at the timeout, and the agent sends
// its nonce and evidence on that same connection, so a steady agent pays
// no TLS handshake. A verifier at its --max-parked bound answers the wait
// at once with retry_after_seconds and closes the connection; that agent
// reconnects (resuming its TLS session) at its turn. --park does the same
// for every simulated host, so a load run costs the verifier what a fleet
// of agents costs it.
//
// A host reads its wait's answer at its turn, not when it arrives: the
// verifier answers at the timeout, which is the turn, and reading then
// needs no goroutine while the host waits. A late answer is therefore
// waited for within the turn and counts in its latency (Phases.Wake), as
// it would delay a real agent. An attest-now answer (attest true) that
// came early is read at the turn like any other: the host attests at its
// turn and does not act on it sooner (load runs make no attest-now).
//
// Only a refusal must be seen at once, to free the connection: after
// sending its wait the host looks for an answer for refuseGrace (at most
// half the time to its turn, which a parked wait's answer cannot beat).
// A refusal slower than that is found at the turn, and then counted as
// refused rather than parked.

// refuseGrace is the longest a host looks for an immediate answer to its
// wait (a refusal) before taking the wait as parked.
const refuseGrace = time.Second

// waitTally counts what became of the hosts' waits (--park).
type waitTally struct {
	// parked: no answer came at once (the verifier parked the wait).
	parked atomic.Int64
	// refused: answered at once with retry_after_seconds (or 503), the
	// verifier being at its --max-parked bound.
	refused atomic.Int64
	// notSent: the host held no connection over the generator's own bound
	// of held connections (fdPlan) and reconnected at its turn.
	notSent atomic.Int64
	// failed: the wait's answer could not be read (connection closed,
	// timeout, not an answer); the host reconnected at its turn.
	failed atomic.Int64
	// attestNow: answered attest true (an attest-now request).
	attestNow atomic.Int64
	// heldLost: a held connection that the verifier closed after
	// answering the wait and before the nonce (the host retried the nonce
	// on a new connection).
	heldLost atomic.Int64
	// newConn: sent on a new connection, the verifier having closed the
	// one the host's evidence went on (after evidence with its log).
	newConn atomic.Int64
}

func (w *waitTally) reset() {
	for _, c := range []*atomic.Int64{&w.parked, &w.refused, &w.notSent, &w.failed, &w.attestNow, &w.heldLost, &w.newConn} {
		c.Store(0)
	}
}

// attestHeld runs one attestation of h in --park mode: it reads the
// answer of the wait parked on h's connection, if any, then sends nonce
// and evidence on that connection, or on a new one (resuming h's TLS
// session) when h holds none.
func (r *runner) attestHeld(ctx context.Context, h *host, tn *turn) (wire.EvidenceResult, error) {
	if c := h.conn; c != nil {
		r.releaseSlot(c)
		if c.waiting {
			t0 := time.Now()
			r.readWaitAnswer(h)
			tn.Wake = time.Since(t0)
		}
	}
	n, err := r.heldNonce(ctx, h, tn)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	t1 := time.Now()
	h.clock += 1000 + uint64(r.cfg.Interval/time.Millisecond)
	q, err := h.tpm.Quote(h.im, n.Nonce, h.clock)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	t2 := time.Now()
	tn.Quote = t2.Sub(t1)
	res, err := r.submit(r.heldSender(ctx, h), h, n.Nonce, q)
	tn.Evidence = time.Since(t2)
	return res, err
}

// heldNonce asks for a nonce on h's held connection, or on a new one when
// h holds none or the verifier closed it while it was held.
func (r *runner) heldNonce(ctx context.Context, h *host, tn *turn) (wire.NonceResponse, error) {
	var n wire.NonceResponse
	if c := h.conn; c != nil {
		t0 := time.Now()
		closing, err := r.exchange(c, "GET", "/agent/v1/nonce", nil, &n)
		tn.Nonce = time.Since(t0)
		if !errors.Is(err, errStale) {
			tn.held = true
			r.dropIf(h, closing)
			return n, err
		}
		// Closed between the wait's answer and the nonce (the verifier's
		// read timeout on a handed-back connection, or a restart): as
		// net/http does for an idempotent request, try again on a new
		// connection.
		r.waits.heldLost.Add(1)
		r.drop(h)
	}
	t0 := time.Now()
	c, err := r.dial(ctx, h)
	tn.Connect = time.Since(t0)
	if err != nil {
		return n, err
	}
	h.conn = c
	t1 := time.Now()
	closing, err := r.exchange(c, "GET", "/agent/v1/nonce", nil, &n)
	tn.Nonce = time.Since(t1)
	r.dropIf(h, closing)
	return n, err
}

// heldSender sends h's evidence on its held connection, or on a new one
// if the verifier closed it after the nonce.
func (r *runner) heldSender(ctx context.Context, h *host) sender {
	return func(method, path string, body jsonBody, out any) error {
		if h.conn == nil {
			c, err := r.dial(ctx, h)
			if err != nil {
				return err
			}
			h.conn = c
		}
		closing, err := r.exchange(h.conn, method, path, body, out)
		r.dropIf(h, closing)
		return err
	}
}

// readWaitAnswer reads, at h's turn, the answer to the wait parked on its
// connection, and drops the connection unless it may carry the nonce.
func (r *runner) readWaitAnswer(h *host) {
	c := h.conn
	c.waiting = false
	var w wire.WaitResponse
	closing, err := r.receive(c, "GET /agent/v1/wait", time.Now().Add(r.cfg.Timeout), &w)
	var he *HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable, err == nil && w.RetryAfterSeconds > 0:
		// A refusal slower than refuseGrace: counted parked, it was not.
		if c.parkedIn == r.phase.Load() {
			r.waits.parked.Add(-1)
		}
		r.waits.refused.Add(1)
		closing = true
	case err != nil:
		r.waits.failed.Add(1)
		r.noteWaitError(h, err)
		closing = true
	case w.Attest:
		r.waits.attestNow.Add(1)
	}
	r.dropIf(h, closing)
}

// park sends h's wait on its connection, asking for the time left until
// its next turn, and looks for a refusal for refuseGrace; without an
// answer the wait is parked and the connection stays open until the turn.
func (r *runner) park(ctx context.Context, h *host, next time.Time, attested bool) {
	left := time.Until(next)
	if left < time.Millisecond {
		// The turn is now: no wait, as the agent sends none.
		return
	}
	if h.conn == nil && attested {
		// The verifier closed the connection with its verdict (after
		// evidence carrying the event log: internal/api's
		// keepAliveEvidenceBytes); the agent's transport sends the wait
		// on a new connection, resuming the session.
		// Its place among the held connections is taken before it is
		// opened: a descriptor in use while dialling counts too (fdPlan).
		if r.heldOpen.Add(1) > int64(r.heldCap) {
			r.heldOpen.Add(-1)
			r.waits.notSent.Add(1)
			return
		}
		c, err := r.dial(ctx, h)
		if err != nil {
			r.heldOpen.Add(-1)
			r.waits.failed.Add(1)
			r.noteWaitError(h, err)
			return
		}
		c.slot = true
		h.conn = c
		r.waits.newConn.Add(1)
	}
	c := h.conn
	if c == nil {
		return
	}
	if !r.takeSlot(c) {
		r.waits.notSent.Add(1)
		r.drop(h)
		return
	}
	// The time left is taken again as the wait goes out: a new
	// connection's handshake (hundreds of ms on a busy verifier) would
	// otherwise be added to the wait, and show as a late wake-up.
	if left = time.Until(next); left < time.Millisecond {
		return // the turn is now: it goes on this connection, no wait
	}
	path := fmt.Sprintf("/agent/v1/wait?timeout=%d", left.Milliseconds())
	if err := r.send(c, "GET", path, nil); err != nil {
		r.waits.failed.Add(1)
		r.noteWaitError(h, err)
		r.drop(h)
		return
	}
	c.waiting = true
	var w wire.WaitResponse
	closing, err := r.receive(c, "GET /agent/v1/wait", time.Now().Add(min(refuseGrace, left/2)), &w)
	var he *HTTPError
	switch {
	case errors.Is(err, errNoAnswer):
		c.parkedIn = r.phase.Load()
		r.waits.parked.Add(1)
		return
	case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable, err == nil && w.RetryAfterSeconds > 0:
		r.waits.refused.Add(1)
		closing = true
	case err != nil:
		r.waits.failed.Add(1)
		r.noteWaitError(h, err)
		closing = true
	case w.Attest:
		r.waits.attestNow.Add(1)
	default:
		// Answered attest false within half the time asked: the
		// verifier's clock or bound is not what the host thought.
		r.waits.failed.Add(1)
		r.noteWaitError(h, fmt.Errorf("wait of %s answered after %s", left, min(refuseGrace, left/2)))
	}
	c.waiting = false
	r.dropIf(h, closing)
}

// dropIf closes h's connection when cond holds.
func (r *runner) dropIf(h *host, cond bool) {
	if cond {
		r.drop(h)
	}
}

// drop closes h's connection, if any.
func (r *runner) drop(h *host) {
	if h.conn == nil {
		return
	}
	r.releaseSlot(h.conn)
	h.conn.close()
	h.conn = nil
}

// takeSlot counts c among the connections held between turns, unless
// that would pass the bound (fdPlan).
func (r *runner) takeSlot(c *heldConn) bool {
	if c.slot {
		return true
	}
	if r.heldOpen.Add(1) > int64(r.heldCap) {
		r.heldOpen.Add(-1)
		return false
	}
	c.slot = true
	return true
}

// releaseSlot: c is in a turn (counted among the attestations in flight)
// or closed.
func (r *runner) releaseSlot(c *heldConn) {
	if c.slot {
		c.slot = false
		r.heldOpen.Add(-1)
	}
}

// noteWaitError keeps a few wait failures for the report; they are not
// attestation errors (the host reconnects at its turn, as the agent does).
func (r *runner) noteWaitError(h *host, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.waitErrSample) < 5 {
		r.waitErrSample = append(r.waitErrSample, fmt.Sprintf("%s: %v", h.name, err))
	}
}
