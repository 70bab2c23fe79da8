package demo

import (
	"context"
	"slices"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// watched is what the progress lines last showed of one host.
type watched struct {
	key   string    // status and reason
	since time.Time // the host's StatusSince then
}

// watch prints a line whenever a host's status changes, until ctx ends.
// Changes between two polls are read from the host's history, so a status
// that lasted less than a poll (a host rebooted quickly) is still shown.
func (d *demo) watch(ctx context.Context) {
	seen := map[string]watched{}
	for {
		hosts, _, err := d.srv.Store.ListHosts(ctx, store.HostQuery{})
		if err == nil {
			for _, h := range hosts {
				d.showChanges(ctx, h, seen)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// showChanges prints what happened to h since the last poll.
func (d *demo) showChanges(ctx context.Context, h store.Host, seen map[string]watched) {
	now := watched{key: h.Status + "|" + h.Reason, since: h.StatusSince}
	last, known := seen[h.Name]
	seen[h.Name] = now
	if known && last == now {
		return
	}
	if known && !h.StatusSince.Equal(last.since) {
		for _, c := range d.changesBetween(ctx, h.Name, last.since, h.StatusSince) {
			d.printStatus(h.Name, c.To, c.Reason)
		}
	}
	d.printStatus(h.Name, h.Status, h.Reason)
}

// changesBetween returns the host's status changes after from and before to,
// oldest first.
func (d *demo) changesBetween(ctx context.Context, name string, from, to time.Time) []store.StatusChange {
	recent, err := d.srv.Store.History(ctx, name, 20, 0)
	if err != nil {
		return nil
	}
	var between []store.StatusChange
	for _, c := range recent {
		if c.At.After(from) && c.At.Before(to) {
			between = append(between, c)
		}
	}
	slices.Reverse(between)
	return between
}

func (d *demo) printStatus(name, status, reason string) {
	line := status
	if reason != "" {
		line += ": " + reason
	}
	d.printf("  %-28s %s\n", name, line)
}
