package verifier

import (
	"context"
	"sync"
	"time"
)

// waiters are the agents holding a long poll on this replica, by host.
type waiters struct {
	mu      sync.Mutex
	m       map[string][]chan struct{}
	version chan struct{} // closed and replaced at every status change
}

func (w *waiters) add(host string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.m[host] = append(w.m[host], ch)
	w.mu.Unlock()
	return ch
}

func (w *waiters) remove(host string, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[host]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, host)
	} else {
		w.m[host] = list
	}
}

func (w *waiters) wake(host string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.m[host] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
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
			v.waiters.wake(n)
		}
	}
}
