package verifier

import (
	"context"
	"time"
)

// rawSummaryWindow is how long per-attestation summaries stay as they are;
// older ones are folded into hourly roll-ups per host and status, kept for
// SummaryRetention. Raw rows live up to rawSummaryWindow+compactEvery: at
// 10,000 hosts attesting every minute, 1.3 million rows, about 140 MB in
// SQLite.
const rawSummaryWindow = 2 * time.Hour

// compactEvery is how often the sweeper rolls summaries up and deletes the
// blobs (event logs, bundle files) no stored evidence names any more. A
// roll-up updates each host's current hour once however many rows it
// folds, and the blob prune's PostgreSQL transaction holds back
// attestations' writes for its few milliseconds, so neither runs on every
// sweep.
const compactEvery = 10 * time.Minute

// compactStore is the sweeper's storage upkeep: summaries past the
// retention are deleted on every sweep (an indexed delete, nothing to do
// most of the time); every compactEvery, the raw summaries that left the
// raw window are rolled up, the history's evidence limits applied
// (storage.go) and unused blobs deleted.
func (v *Verifier) compactStore(ctx context.Context, now time.Time, every time.Duration) {
	if _, err := v.st.PruneSummaries(ctx, now.Add(-v.cfg.SummaryRetention)); err != nil {
		v.log.Warn("prune attestation summaries", "err", err)
	}
	if !crossed(now, every, compactEvery) {
		return
	}
	if _, err := v.st.RollUpSummaries(ctx, now.Add(-rawSummaryWindow)); err != nil {
		v.log.Warn("roll up attestation summaries", "err", err)
	}
	v.retainHistory(ctx, now)
	if _, err := v.st.PruneBlobs(ctx); err != nil {
		v.log.Warn("prune evidence blobs", "err", err)
	}
}

// crossed reports whether the sweep period ending at now crossed a multiple
// of period (UTC): with sweeps every `every`, one sweep in each period.
// No state is kept, so a replica that takes the sweeper lease over
// carries on the rhythm.
func crossed(now time.Time, every, period time.Duration) bool {
	return now.Truncate(period) != now.Add(-every).Truncate(period)
}
