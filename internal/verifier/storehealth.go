package verifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// Why the verifier probes its store.
//
// With its disk full or its PostgreSQL down, the verifier kept serving:
// /healthz said ok, reads still worked, and the report showed hosts
// Passed long after their agents' evidence stopped being recorded. What
// tells the truth is a write: StoreHealth does a real, small one (and a
// read), bounded in time and cached for a moment so that load balancers
// and monitoring may poll it, and every successful write of this replica
// moves bootproof_store_last_write_timestamp_seconds.

// Probe bounds.
const (
	// storeProbeTimeout bounds one probe: a store that takes longer to
	// take a one-row write is not one to send work to.
	storeProbeTimeout = 2 * time.Second
	// storeProbeCache is how long a probe's answer is reused: /readyz may
	// be polled by every load balancer and the report's every page.
	storeProbeCache = time.Second
	// storeProbeLease names the row the probe rewrites (a lease no one
	// holds: see probeWrite).
	storeProbeLease = "store-probe"
	// storeFailWindow is how long a failed write of real work keeps this
	// replica not ready. The probe rewrites one row in place, which a full
	// disk still allows (SQLite reuses the pages and WAL room it has),
	// while an attestation, which needs new pages, fails: readiness must
	// say what real work meets, not only what the probe does.
	storeFailWindow = 10 * time.Second
)

// Problems StoreHealth reports, stable for monitoring.
const (
	StoreCannotRead  = "the verifier cannot read its store"
	StoreCannotWrite = "the verifier cannot write its store"
)

// StoreHealth is what this replica knows of its store.
type StoreHealth struct {
	// Ready is true when the last probe read and wrote the store.
	Ready bool
	// Problem is StoreCannotRead or StoreCannotWrite when not Ready.
	Problem string
	// Err is what failed, for the log; it may name servers and files, so
	// it is never shown to an unauthenticated caller.
	Err error
	// Checked is when the probe ran.
	Checked time.Time
	// LastWrite is when this replica last wrote to the store successfully
	// (a probe or real work); zero when it has not since it started.
	LastWrite time.Time
}

// storeHealth is the Verifier's probe cache and last-write clock.
type storeHealth struct {
	mu   sync.Mutex // held through a probe: callers meanwhile wait for its answer
	last StoreHealth
	seq  int64 // makes every probe write change its row
	// lastWrite is the UnixNano of this replica's last successful write.
	lastWrite atomic.Int64
	// lastFail is the UnixNano of this replica's last failed write of
	// real work, and failErr what failed.
	lastFail atomic.Int64
	failErr  atomic.Pointer[error]
}

// StoreHealth probes the store (a read and a one-row write, within
// storeProbeTimeout) unless a probe ran in the last storeProbeCache, and
// returns what it found.
func (v *Verifier) StoreHealth(ctx context.Context) StoreHealth {
	h := &v.health
	h.mu.Lock()
	defer h.mu.Unlock()
	now := v.now()
	if !h.last.Checked.IsZero() && now.Sub(h.last.Checked) < storeProbeCache && !now.Before(h.last.Checked) {
		return v.withLastWrite(h.last)
	}
	// The caller going away (a monitor's short timeout) says nothing of
	// the store: only the probe's own bound ends it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeProbeTimeout)
	defer cancel()
	res := StoreHealth{Ready: true}
	if _, err := v.st.ListGroups(ctx); err != nil {
		res = StoreHealth{Problem: StoreCannotRead, Err: fmt.Errorf("probe read: %w", err)}
	} else if err := v.probeWrite(ctx, now); err != nil {
		res = StoreHealth{Problem: StoreCannotWrite, Err: fmt.Errorf("probe write: %w", err)}
	} else if err := v.recentWriteFailure(now); err != nil {
		res = StoreHealth{Problem: StoreCannotWrite, Err: err}
	}
	// Stamped when the probe ends, so that callers that waited for it take
	// its answer rather than each probing a hung store in turn.
	res.Checked = v.now()
	if !res.Ready && h.last.Ready {
		v.log.Warn("store unavailable", "problem", res.Problem, "err", res.Err)
	}
	if res.Ready && !h.last.Ready && !h.last.Checked.IsZero() {
		v.log.Info("store available again")
	}
	h.last = res
	return v.withLastWrite(res)
}

func (v *Verifier) withLastWrite(h StoreHealth) StoreHealth {
	if n := v.health.lastWrite.Load(); n != 0 {
		h.LastWrite = time.Unix(0, n)
	}
	return h
}

// probeWrite rewrites one row: the lease storeProbeLease, given to this
// replica until an instant in 1970 that grows with each probe. That
// instant is always past, so the lease is free for every replica at every
// probe (the write always happens, whoever wrote last), its value changes
// each time (so no store can skip it as a no-op), and nothing else takes
// or waits for a lease of that name.
func (v *Verifier) probeWrite(ctx context.Context, now time.Time) error {
	v.health.seq++
	held, err := v.st.AcquireLease(ctx, storeProbeLease, v.cfg.ReplicaID, now, time.UnixMicro(v.health.seq))
	if err == nil && !held {
		err = errors.New("the probe row was not written")
	}
	if err == nil {
		// Only its success counts: a failed probe is this probe's answer,
		// and the next one that succeeds supersedes it (unlike a failure
		// of real work, see storeFailWindow).
		v.noteWrite(nil)
	}
	return err
}

// recentWriteFailure says what failed if a write of real work failed
// within storeFailWindow before now.
func (v *Verifier) recentWriteFailure(now time.Time) error {
	n := v.health.lastFail.Load()
	if n == 0 {
		return nil
	}
	at := time.Unix(0, n)
	if now.Sub(at) >= storeFailWindow {
		return nil
	}
	err := errors.New("unknown error")
	if p := v.health.failErr.Load(); p != nil {
		err = *p
	}
	return fmt.Errorf("a write failed at %s: %w", at.UTC().Format(time.RFC3339), err)
}

// isStoreFailure tells a store that could not do a write from a write the
// store refused on its merits (an unknown or used nonce, a replaced
// credential) or a caller that went away.
func isStoreFailure(err error) bool {
	for _, answer := range []error{store.ErrNotFound, store.ErrConflict, store.ErrExpired, store.ErrUsed,
		store.ErrCredentialChanged, context.Canceled} {
		if errors.Is(err, answer) {
			return false
		}
	}
	return true
}

// noteWrite records the outcome of a store write: a success moves this
// replica's last-write clock and its metric unless a write failed within
// storeFailWindow; a failure of the store keeps the replica not ready for
// storeFailWindow.
func (v *Verifier) noteWrite(err error) {
	if err != nil {
		if isStoreFailure(err) {
			v.health.failErr.Store(&err)
			v.health.lastFail.Store(v.now().UnixNano())
		}
		return
	}
	now := v.now()
	if v.recentWriteFailure(now) != nil {
		// Some writes still succeed on a full disk (a nonce in the room a
		// used one left, the probe's row) while attestations fail: the
		// clock says when the store last took every write, so it stands
		// still until storeFailWindow passed with no failure.
		return
	}
	v.health.lastWrite.Store(now.UnixNano())
	v.metrics.StoreLastWrite.Set(float64(now.UnixNano()) / 1e9)
}
