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

func TestWaitsRefusedCounter(t *testing.T) {
	m := New()
	value := func() float64 {
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "bootproof_agent_waits_refused_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return -1
	}
	if v := value(); v != 0 {
		t.Errorf("bootproof_agent_waits_refused_total = %v before any refusal, want 0 (exported from the start)", v)
	}
	m.WaitsRefused.Inc()
	m.WaitsRefused.Inc()
	if v := value(); v != 2 {
		t.Errorf("bootproof_agent_waits_refused_total = %v, want 2", v)
	}
}
