package server

import (
	"testing"
	"time"
)

// TestOneParkedWaitPerHost parks a wait of one host, then another wait of
// the same host on a second connection: the second replaces the first,
// whose connection is closed unanswered, one wait stays parked, another
// host's wait is not touched, the replacement is counted, and the wait
// that stays is still woken by "attest now".
func TestOneParkedWaitPerHost(t *testing.T) {
	e := startRun(t, 10)
	other := e.agent(t, "bystander")
	other.send(t, "/agent/v1/wait?timeout=60000")
	first := e.agent(t, "mallory")
	first.send(t, "/agent/v1/wait?timeout=60000")
	eventually(t, 5*time.Second, "two waits parked", e.parked(2))
	second := e.agentConn(t, "mallory")
	second.send(t, "/agent/v1/wait?timeout=60000")
	_ = first.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := first.br.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("the replaced wait's connection got %d bytes (%v), want closed unanswered", n, err)
	}
	eventually(t, 5*time.Second, "the newer wait parked in place of the older", e.parked(2))
	if n := e.refusals(t, "wait.replaced"); n != 1 {
		t.Errorf("wait.replaced counted %v times, want 1", n)
	}
	e.attestNow(t, "mallory")
	if !second.waitAnswer(t, 5*time.Second) {
		t.Error("the newer wait was not answered attest on attest now")
	}
	eventually(t, 5*time.Second, "the bystander's wait still parked", e.parked(1))
}

// refusals is bootproof_agent_refusals_total{code}.
func (e *runEnv) refusals(t *testing.T, code string) float64 {
	t.Helper()
	mfs, err := e.s.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bootproof_agent_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no bootproof_agent_refusals_total{code=%q}", code)
	return 0
}
