package demo

import (
	"context"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// scenario reboots a good host with Secure Boot off, waits for Failed, then
// reboots it with Secure Boot on and waits for Passed.
func (d *demo) scenario(ctx context.Context) error {
	var target *member
	for i := range d.fleet {
		if d.fleet[i].Profile == "good" && i > 0 {
			target = &d.fleet[i]
			break
		}
	}
	if target == nil {
		target = &d.fleet[0]
	}
	if err := d.settle(ctx, 90*time.Second); err != nil {
		return err
	}
	off, on := false, true
	d.printf("\nScenario: rebooting %s with Secure Boot OFF...\n", target.Name)
	d.stopHost(target.Name)
	if err := d.startHost(ctx, *target, &off); err != nil {
		return err
	}
	since := time.Now()
	if err := d.waitFor(ctx, target.Name, func(h store.Host) bool {
		return h.Status == store.StatusFailed && h.StatusSince.After(since.Add(-time.Second))
	}, 2*d.cfg.Interval); err != nil {
		return err
	}
	d.printf("Scenario: %s is Failed (after %s). Rebooting it with Secure Boot ON...\n", target.Name, time.Since(since).Round(time.Millisecond))
	d.stopHost(target.Name)
	if err := d.startHost(ctx, *target, &on); err != nil {
		return err
	}
	since = time.Now()
	if err := d.waitFor(ctx, target.Name, func(h store.Host) bool { return h.Status == store.StatusPassed }, 2*d.cfg.Interval); err != nil {
		return err
	}
	d.printf("Scenario: %s is Passed again (after %s).\n", target.Name, time.Since(since).Round(time.Millisecond))
	return nil
}

// settle waits until every host of the fleet has a verdict.
func (d *demo) settle(ctx context.Context, limit time.Duration) error {
	for _, m := range d.fleet {
		if err := d.waitFor(ctx, m.Name, func(h store.Host) bool { return h.LastAttested != nil }, limit); err != nil {
			return err
		}
	}
	return nil
}
