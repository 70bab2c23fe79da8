package metrics

import "testing"

func TestWatchParkedWaits(t *testing.T) {
	m := New()
	n := 3
	if err := m.WatchParkedWaits(func() int { return n }); err != nil {
		t.Fatal(err)
	}
	n = 7 // read at scrape time, not at registration
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "bootproof_agent_waits_parked" {
			v = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if v != 7 {
		t.Errorf("bootproof_agent_waits_parked = %v, want 7", v)
	}
	if err := m.WatchParkedWaits(func() int { return 0 }); err == nil {
		t.Error("a second registration was accepted")
	}
}
