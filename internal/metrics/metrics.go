package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the verifier's collectors on their own registry.
type Metrics struct {
	reg *prometheus.Registry

	HostsByStatus *prometheus.GaugeVec
	// PassedByTrust counts the Passed hosts by trust level
	// (secure_boot_only, references), counted with HostsByStatus.
	PassedByTrust   *prometheus.GaugeVec
	Attestations    *prometheus.CounterVec
	AppraisalTime   prometheus.Histogram
	AttestationTime prometheus.Histogram
	Failures        *prometheus.CounterVec
	StoreTime       *prometheus.HistogramVec
	Enrolments      *prometheus.CounterVec
	PlacementDenied *prometheus.CounterVec
	PlacementWarn   prometheus.Counter
	WebhookSent     *prometheus.CounterVec
	StatusChanges   *prometheus.CounterVec
	// WaitsRefused counts agents' waits answered at once because the
	// verifier held as many parked waits as it may (--max-parked).
	WaitsRefused prometheus.Counter
	// WaitAnsweredLate is how long after its deadline each parked wait
	// that ran out was answered: the parker's own delay, which an agent
	// sees as a late turn.
	WaitAnsweredLate prometheus.Histogram
	// StoreLastWrite is when this replica last wrote to its store
	// successfully: it stops moving while the store takes no writes.
	StoreLastWrite prometheus.Gauge
	// HostsCounted is when bootproof_hosts was last counted: the counts
	// are kept, not zeroed, when counting fails, and this says their age.
	HostsCounted prometheus.Gauge
}

// New registers the collectors, with Go and process metrics beside them.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		HostsByStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bootproof_hosts", Help: "Hosts by current status."}, []string{"status"}),
		PassedByTrust: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bootproof_passed_hosts", Help: "Passed hosts by trust level: secure_boot_only (their group constrains no component) or references."},
			[]string{"trust_level"}),
		Attestations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_attestations_total", Help: "Attestations appraised, by resulting status."}, []string{"status"}),
		AppraisalTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bootproof_appraisal_seconds", Help: "Time to appraise one piece of evidence (CPU work only).",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14)}),
		AttestationTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bootproof_attestation_seconds", Help: "Time to handle one evidence submission, store included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_attestation_failures_total", Help: "Failed checks, by reason code."}, []string{"code"}),
		StoreTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bootproof_store_seconds", Help: "Store operation latency.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16)}, []string{"op"}),
		Enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_enrolments_total", Help: "Enrolment attempts, by outcome code."}, []string{"outcome"}),
		PlacementDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_placement_denied_total", Help: "Placement decisions that denied a host, by status."}, []string{"status"}),
		PlacementWarn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bootproof_placement_warnings_total", Help: "Placements allowed only because the group is in warn mode."}),
		WebhookSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_webhook_deliveries_total", Help: "Webhook delivery attempts, by outcome."}, []string{"outcome"}),
		StatusChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootproof_status_changes_total", Help: "Host status changes, by new status."}, []string{"to"}),
		WaitsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bootproof_agent_waits_refused_total",
			Help: "Agents' long polls answered at once, not parked, because --max-parked waits were parked; such an agent waits for its next attestation without a long poll."}),
		WaitAnsweredLate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bootproof_agent_wait_answered_late_seconds",
			Help:    "How long after its timeout a parked long poll was answered (its answer written); the agent's next attestation is that late.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		StoreLastWrite: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bootproof_store_last_write_timestamp_seconds",
			Help: "Unix time of this replica's last successful store write (work or a probe at least every sweep); stops moving while the store takes no writes."}),
		HostsCounted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bootproof_hosts_counted_timestamp_seconds",
			Help: "Unix time bootproof_hosts was counted; while counting fails the last counts are kept and this stops moving."}),
	}
	reg.MustRegister(m.HostsByStatus, m.PassedByTrust, m.Attestations, m.AppraisalTime, m.AttestationTime, m.Failures,
		m.StoreTime, m.Enrolments, m.PlacementDenied, m.PlacementWarn, m.WebhookSent, m.StatusChanges, m.WaitsRefused,
		m.WaitAnsweredLate, m.StoreLastWrite, m.HostsCounted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchParkedWaits exports bootproof_agent_waits_parked: how many agents'
// waits are parked off net/http's goroutines now (parked reads it at each
// scrape). A second call replaces nothing and returns an error.
func (m *Metrics) WatchParkedWaits(parked func() int) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bootproof_agent_waits_parked",
		Help: "Agents whose long poll is parked, waiting for attest-now or their next turn.",
	}, func() float64 { return float64(parked()) }))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry to tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
