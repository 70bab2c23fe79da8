package verifier

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// One host must not be able to fill the verifier's disk. Every status
// change keeps its full evidence, so a host flapping between Failed (with
// a unique event in its log) and Passed stored a new log at every change;
// the limits below bound what any host, and the fleet's history, keeps.
// Verdict rows and reasons always stay; only evidence is dropped, and the
// change says so (store.StatusChange.EvidenceDropped).

// StorageLimits bound the status-change evidence the verifier keeps.
type StorageLimits struct {
	// HostMaxBytes caps the evidence one host's status changes keep
	// (default DefaultHostEvidenceBytes); the oldest goes first, never
	// the newest change's.
	HostMaxBytes int64
	// HostPerHour is how many of a host's status changes within an hour
	// keep full evidence (default DefaultHostEvidencePerHour); a host
	// flapping faster keeps its newest.
	HostPerHour int
	// HistoryMaxAge drops evidence of changes older than it (default
	// DefaultHistoryEvidenceAge), each host's newest change excepted.
	HistoryMaxAge time.Duration
	// HistoryMaxBytes caps the evidence all status changes keep (default
	// DefaultHistoryEvidenceBytes); the oldest goes first.
	HistoryMaxBytes int64
}

// Defaults of StorageLimits. A real host's status change costs its
// evidence and verdict (about 20 KB) plus what it stored new: its event log
// (24 KB median, 73 KB largest in the corpus of real logs) when its boot
// changed. 16 MiB keeps over a hundred boot
// changes of one host; 12 an hour keeps every change of a host that is
// being worked on; 400 days covers a yearly audit; 10 GiB is 640 hosts at
// their cap, where a real fleet's history is a small fraction of it.
const (
	DefaultHostEvidenceBytes    = 16 << 20
	DefaultHostEvidencePerHour  = 12
	DefaultHistoryEvidenceAge   = 400 * 24 * time.Hour
	DefaultHistoryEvidenceBytes = 10 << 30
)

func (l *StorageLimits) setDefaults() {
	if l.HostMaxBytes == 0 {
		l.HostMaxBytes = DefaultHostEvidenceBytes
	}
	if l.HostPerHour == 0 {
		l.HostPerHour = DefaultHostEvidencePerHour
	}
	if l.HistoryMaxAge == 0 {
		l.HistoryMaxAge = DefaultHistoryEvidenceAge
	}
	if l.HistoryMaxBytes == 0 {
		l.HistoryMaxBytes = DefaultHistoryEvidenceBytes
	}
}

// pruneAfterFreshBytes is how many bytes of event logs and bundle files
// new to this replica it receives before it prunes unused blobs early
// rather than at the next compactEvery. A host that sends a new large log
// at every attestation without changing its status replaces its latest
// evidence each time, leaving the previous log for the prune: without this,
// up to ten minutes of them.
const pruneAfterFreshBytes = 32 << 20

// storageState is the verifier's bookkeeping for early prunes.
type storageState struct {
	fresh   atomic.Int64 // bytes of new logs and bundle files since the last prune
	pruning atomic.Bool
}

// checkEventLogSize refuses an event log over wire.MaxEventLogBytes.
func checkEventLogSize(ev *wire.Evidence) error {
	if n := len(ev.EventLog); n > wire.MaxEventLogBytes {
		return refuse(KindTooLarge, wire.CodeEventLogTooLarge,
			"the event log is %d bytes, over the verifier's limit of %d bytes; nothing was recorded", n, wire.MaxEventLogBytes)
	}
	return nil
}

// limitHostEvidence holds host to its evidence limits after a status
// change. The verdict is recorded already: a failure here is logged, and
// the next change or the sweeper's retention catches up.
func (v *Verifier) limitHostEvidence(ctx context.Context, host string) {
	l := v.cfg.Storage
	lim := store.EvidenceLimits{MaxBytes: l.HostMaxBytes, PerWindow: l.HostPerHour, Window: time.Hour}
	n, err := v.st.LimitEvidence(ctx, host, lim, v.now())
	if err != nil {
		v.log.Warn("limit a host's stored evidence", "host", host, "err", err)
		return
	}
	if n > 0 {
		v.log.Info("evidence of status changes dropped: host over its storage limits", "host", host, "changes", n)
	}
}

// sentParts says which of evidence's large parts the agent sent itself,
// rather than by hash.
type sentParts struct{ log, bundles bool }

func sent(ev *wire.Evidence) sentParts {
	return sentParts{log: len(ev.EventLog) > 0, bundles: len(ev.Bundles) > 0}
}

// countFresh adds the recorded log and bundle files that the agent sent
// and this replica has not seen lately to the fresh bytes, and prunes
// unused blobs in the background once they pass pruneAfterFreshBytes.
// blobs are the record's.
func (v *Verifier) countFresh(ev *wire.Evidence, s sentParts, blobs []store.Blob) {
	var n int64
	if s.log && len(ev.EventLog) > 0 && len(blobs) > 0 {
		if _, ok := v.logs.Get(blobs[0].SHA256); !ok {
			n += int64(len(ev.EventLog))
		}
	}
	for _, b := range bundleBlobs(ev, blobs) {
		if _, ok := v.bundleFiles.Get(b.SHA256); s.bundles && !ok {
			n += int64(len(b.Data))
		}
	}
	if n == 0 || v.storage.fresh.Add(n) < pruneAfterFreshBytes || !v.storage.pruning.CompareAndSwap(false, true) {
		return
	}
	v.storage.fresh.Store(0)
	go func() {
		defer v.storage.pruning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := v.st.PruneBlobs(ctx); err != nil {
			v.log.Warn("prune evidence blobs early", "err", err)
		}
	}()
}

// retainHistory applies the history's age and byte limits.
func (v *Verifier) retainHistory(ctx context.Context, now time.Time) {
	l := v.cfg.Storage
	n, err := v.st.RetainEvidence(ctx, now.Add(-l.HistoryMaxAge), l.HistoryMaxBytes)
	if err != nil {
		v.log.Warn("apply history retention", "err", err)
	}
	if n > 0 {
		v.log.Info("evidence of old status changes dropped: history retention", "changes", n)
	}
}
