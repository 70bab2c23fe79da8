package verifier

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// A waiter is one agent's long poll on this replica: fire is called once,
// when an operator asks its host to attest now. A callback rather than a
// channel, so that a wait parked without a goroutine of its own (the API's
// parked connections) can be woken as well as one held in its handler.
type waiter struct {
	fire func()
}

// waiters are the agents holding a long poll on this replica, by host.
type waiters struct {
	mu      sync.Mutex
	m       map[string][]*waiter
	n       int
	version chan struct{} // closed and replaced at every status change
}

func (w *waiters) add(host string, fire func()) *waiter {
	wt := &waiter{fire: fire}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[string][]*waiter)
	}
	w.m[host] = append(w.m[host], wt)
	w.n++
	return wt
}

func (w *waiters) remove(host string, wt *waiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[host]
	i := slices.Index(list, wt)
	if i < 0 {
		return // fired (and taken) already
	}
	w.n--
	if len(list) == 1 {
		delete(w.m, host)
		return
	}
	w.m[host] = slices.Delete(list, i, i+1)
}

func (w *waiters) has(host string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m[host]) > 0
}

// take removes host's waiters and returns them, to be fired outside the
// lock.
func (w *waiters) take(host string) []*waiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[host]
	delete(w.m, host)
	w.n -= len(list)
	return list
}

// changed signals watchers of status changes on this replica.
func (w *waiters) changed() {
	w.mu.Lock()
	if w.version != nil {
		close(w.version)
		w.version = nil
	}
	w.mu.Unlock()
}

// Changed returns a channel closed at the next status change recorded by
// this replica (the report's live view also polls, for other replicas).
func (v *Verifier) Changed() <-chan struct{} {
	v.waiters.mu.Lock()
	defer v.waiters.mu.Unlock()
	if v.waiters.version == nil {
		v.waiters.version = make(chan struct{})
	}
	return v.waiters.version
}

// Notify is the wait for host h without blocking: it registers fire to be
// called once when an operator asks h to attest now. When a request is
// pending already it registers nothing and returns now=true. Otherwise it
// returns stop, which unregisters fire; a fire racing with stop may still
// run once after it, so fire must tolerate that. fire runs on the goroutine
// that polls attest-now requests and must not block.
func (v *Verifier) Notify(ctx context.Context, h store.Host, fire func()) (now bool, stop func()) {
	if requested(h) {
		return true, func() {}
	}
	// stop keeps the name only: a parked wait lives for minutes, and the
	// host record holds far more than a waiter needs.
	name := h.Name
	wt := v.waiters.add(name, fire)
	stop = func() { v.waiters.remove(name, wt) }
	// Look again after registering, so a request made in between is not missed.
	if cur, err := v.st.GetHost(ctx, h.Name); err == nil && requested(cur) {
		stop()
		return true, func() {}
	}
	return false, stop
}

// Waiting is how many long polls this replica holds now.
func (v *Verifier) Waiting() int {
	v.waiters.mu.Lock()
	defer v.waiters.mu.Unlock()
	return v.waiters.n
}

// RunAttestRequests wakes this replica's waiting agents when an operator
// (on any replica) asks for attestation now. It polls the store, so replicas
// need no channel of their own to each other.
func (v *Verifier) RunAttestRequests(ctx context.Context) error {
	since := v.now().Add(-time.Second)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := v.now()
		names, err := v.st.AttestRequestedSince(ctx, since)
		if err != nil {
			v.log.Warn("poll attest requests", "err", err)
			continue
		}
		// Overlap one second so a request stored with a slightly older
		// timestamp by another replica is not missed; waking twice is harmless.
		since = now.Add(-time.Second)
		for _, n := range names {
			v.wakeIfRequested(ctx, n)
		}
	}
}

// wakeIfRequested fires the waiters of host name if its attest-now request
// is newer than its last attestation: names come with a second's overlap,
// and a host that attested since must not be woken again. One read of the
// host serves all its waiters; a waiter added after the read looks for
// itself (Notify).
func (v *Verifier) wakeIfRequested(ctx context.Context, name string) {
	if !v.waiters.has(name) {
		return
	}
	cur, err := v.st.GetHost(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			v.log.Warn("read host to wake its agent", "host", name, "err", err)
		}
		return
	}
	if !requested(cur) {
		return
	}
	for _, wt := range v.waiters.take(name) {
		wt.fire()
	}
}
