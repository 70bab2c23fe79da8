package verifier

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// RunSweeper marks hosts Unreachable when they miss their group's
// attestations, keeps the store small (compactStore), and refreshes the
// status gauges. With
// several replicas, one holds the sweeper lease at a time; if it dies, the
// lease runs out and another takes over.
func (v *Verifier) RunSweeper(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var counted time.Time
	for {
		v.sweepOnce(ctx, every, &counted)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// hostCountEvery is how often each replica counts the fleet by status for
// the bootproof_hosts gauge. Counting reads every host (an index scan of
// the status index, or on PostgreSQL the rows it points to): at 100,000
// hosts 179 ms a count on PostgreSQL in a load run (on a machine shared
// with other work), which every replica spent at every sweep (5 s). A gauge scraped every 15 to 60 s loses nothing by
// being refreshed every 30 s.
const hostCountEvery = 30 * time.Second

// sweepOnce runs one sweep; counted is when this replica last refreshed
// the status gauge.
func (v *Verifier) sweepOnce(ctx context.Context, every time.Duration, counted *time.Time) {
	now := v.now()
	// A probe every sweep keeps bootproof_store_last_write_timestamp_seconds
	// moving on an idle fleet, so that it stops only when writes fail.
	v.StoreHealth(ctx)
	// Counting only reads: it goes on while writes (the lease) fail.
	v.countHosts(ctx, now, counted)
	ok, err := v.st.AcquireLease(ctx, "sweeper", v.cfg.ReplicaID, now, now.Add(3*every))
	v.noteWrite(err)
	if err != nil {
		v.log.Warn("acquire sweeper lease", "err", err)
		return
	}
	if !ok {
		return
	}
	if err := v.markUnreachable(ctx, now); err != nil {
		v.log.Warn("mark unreachable hosts", "err", err)
	}
	v.compactStore(ctx, now, every)
}

// countHosts refreshes the status gauge when hostCountEvery has passed
// since counted (or the clock went back).
func (v *Verifier) countHosts(ctx context.Context, now time.Time, counted *time.Time) {
	if !counted.IsZero() && now.Sub(*counted) < hostCountEvery && !now.Before(*counted) {
		return
	}
	counts, err := v.st.CountByStatus(ctx, "")
	if err != nil {
		// The gauge keeps the last counts (never zeroes), and
		// bootproof_hosts_counted_timestamp_seconds says how old they are.
		v.log.Warn("count hosts by status", "err", err)
		return
	}
	*counted = now
	for _, s := range store.Statuses {
		v.metrics.HostsByStatus.WithLabelValues(s).Set(float64(counts[s]))
	}
	v.countTrustLevels(ctx)
	v.metrics.HostsCounted.Set(float64(now.UnixNano()) / 1e9)
}

func (v *Verifier) markUnreachable(ctx context.Context, now time.Time) error {
	groups, err := v.st.ListGroups(ctx)
	if err != nil {
		return err
	}
	cutoffs := make(map[string]time.Time, len(groups))
	for _, g := range groups {
		p, err := v.policies.get(ctx, g.Name)
		if err != nil {
			v.log.Warn("policy for unreachable sweep", "group", g.Name, "err", err)
			continue
		}
		cutoffs[g.Name] = now.Add(-p.Interval * time.Duration(p.UnreachableAfter))
	}
	def := now.Add(-15 * time.Minute)
	var payload func(store.Host) []byte // no webhook without receivers
	if v.cfg.Webhooks {
		payload = func(h store.Host) []byte {
			b, _ := json.Marshal(StatusEvent{Event: "host.status_changed", Host: h.Name, Group: h.Group, From: h.Status,
				To: store.StatusUnreachable, At: now, ReasonCode: store.ReasonUnreachable,
				Reason: "no evidence from the host for longer than its group allows"})
			return b
		}
	}
	names, err := v.st.MarkUnreachable(ctx, cutoffs, def, now, payload)
	if err != nil {
		return err
	}
	for _, n := range names {
		v.log.Warn("host unreachable", "host", n)
		v.metrics.StatusChanges.WithLabelValues(store.StatusUnreachable).Inc()
	}
	if len(names) > 0 {
		v.waiters.changed()
	}
	return nil
}
