package metrics

import "github.com/prometheus/client_golang/prometheus"

// AgentRefusals registers and returns bootproof_agent_refusals_total: the
// agent requests the verifier refused to protect what hosts share (its
// attestation slots, body reads, nonces, parked waits), by the refusal's
// code (RefusalCodes). A second call returns an error.
func (m *Metrics) AgentRefusals() (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bootproof_agent_refusals_total",
		Help: "Agent requests refused to keep any one host to its share of the verifier, by refusal code.",
	}, []string{"code"})
	if err := m.reg.Register(c); err != nil {
		return nil, err
	}
	// Shown at 0 from the start, so that a rate() over them works before
	// the first refusal.
	for _, code := range RefusalCodes {
		c.WithLabelValues(code)
	}
	return c, nil
}

// RefusalCodes are the codes bootproof_agent_refusals_total counts.
var RefusalCodes = []string{"verifier.busy", "host.busy", "nonce.rate_limited", "body.too_slow", "body.unreadable", "wait.replaced"}
