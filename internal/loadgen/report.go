package loadgen

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is what a load run measured.
type Report struct {
	Hosts       int           `json:"hosts"`
	Enrolled    int           `json:"enrolled"`
	EnrolTime   time.Duration `json:"enrol_ns"`
	EnrolErrors int           `json:"enrol_errors"`
	Mode        string        `json:"mode"` // "steady" or "cold-start"
	// Connections is how hosts connect: "reconnect" (a connection per
	// attestation), "keep-alive" or "park" (Config.Park).
	Connections string `json:"connections"`
	// Warmup* are the unmeasured warm-up's (Config.Warmup): its
	// attestations, errors and unexpected verdicts, which fail a run as
	// the measured ones do.
	WarmupAttestations int           `json:"warmup_attestations,omitempty"`
	WarmupErrors       int           `json:"warmup_errors,omitempty"`
	WarmupUnexpected   int           `json:"warmup_unexpected,omitempty"`
	WarmupErrorSample  []string      `json:"warmup_error_sample,omitempty"`
	Interval           time.Duration `json:"interval_ns"`
	// Wall is the measured phase's length (steady: the run's duration; cold
	// start: until the last host had its verdict or the deadline).
	Wall         time.Duration `json:"wall_ns"`
	Attestations int           `json:"attestations"`
	// Rate is attestations completed per second of Wall.
	Rate float64 `json:"rate_per_s"`
	// Errors are attestations that got no verdict (transport errors, 4xx, 5xx).
	Errors int `json:"errors"`
	// Busy are attestations the verifier shed with 503 (steady mode): an
	// agent retries them after a backoff; the run does not.
	Busy int `json:"busy"`
	// Retries are attempts an agent would retry (cold start only).
	Retries int `json:"retries"`
	// Unexpected are verdicts other than the profile's expected one.
	Unexpected int `json:"unexpected"`
	// LogsByHash are attestations whose evidence named the event log by
	// the hash the verifier held instead of carrying it.
	LogsByHash int `json:"logs_by_hash"`
	// BundlesByHash are attestations whose evidence named the bundle
	// files by the hashes the verifier held instead of carrying them.
	BundlesByHash int `json:"bundles_by_hash"`
	// HeldAttestations went over a connection open before their turn (kept
	// alive, or parked with --park); NewAttestations over one opened for it.
	HeldAttestations int `json:"attestations_held_conn"`
	NewAttestations  int `json:"attestations_new_conn"`
	// TLSHandshakes are the handshakes the attestations made, TLSResumed
	// those that resumed the host's session (no certificate signatures):
	// after a warm-up every reconnecting host has a session to resume.
	TLSHandshakes int `json:"tls_handshakes"`
	TLSResumed    int `json:"tls_resumed"`
	// Waits are what became of the waits (--park).
	Waits WaitFigures `json:"waits"`
	// FDLimit is the generator's file descriptor limit (0: unknown);
	// HeldCap, with --park, the most connections it holds between turns.
	FDLimit     int            `json:"fd_limit"`
	HeldCap     int            `json:"held_cap,omitempty"`
	Verdicts    map[string]int `json:"verdicts"`
	ErrorSample []string       `json:"error_sample,omitempty"`
	// Latency is per attestation, from the start of the host's turn (its
	// parked wait's answer, the TLS handshake included) to the verdict.
	P50, P90, P99, Max time.Duration
	// Phases places the latency: wake (--park), connection, nonce, quote,
	// evidence.
	Phases PhaseReport `json:"phases"`
	// MaxLag is the longest an attestation started after its turn: the
	// generator falling behind, which would hide latency if it grew.
	MaxLag time.Duration `json:"max_lag_ns"`
	// LastVerdict is, in cold-start mode, when the last host got its verdict.
	LastVerdict time.Duration `json:"last_verdict_ns"`
	// Verifier process, from /proc (zero when no PID was given).
	VerifierPID      int     `json:"verifier_pid"`
	VerifierCPU      float64 `json:"verifier_cpu_cores"` // CPU seconds per second over Wall
	VerifierRSSPeak  int64   `json:"verifier_rss_peak_bytes"`
	VerifierRSSEnd   int64   `json:"verifier_rss_end_bytes"`
	VerifierHWM      int64   `json:"verifier_vmhwm_bytes"`
	VerifierCPUEnrol float64 `json:"verifier_cpu_cores_enrol"`
	// GeneratorGC is the generator's own GOGC and GOMEMLIMIT: its garbage
	// collection pauses show in the latencies it measures, so a run says
	// how it was set.
	GeneratorGC string `json:"generator_gc"`
	// GeneratorGCs counts the generator's collections during the measured
	// run: each one, near GOMEMLIMIT above all, can stall the generator
	// and shows as latency the verifier did not cause.
	GeneratorGCs uint64 `json:"generator_gcs"`
	// GeneratorRSS and GeneratorHWM are the generator process's memory at
	// the end of the run and its peak (with an in-process verifier, as in
	// the tests, both of them).
	GeneratorRSS int64 `json:"generator_rss_bytes"`
	GeneratorHWM int64 `json:"generator_vmhwm_bytes"`
}

// WaitFigures count the hosts' waits in --park mode.
type WaitFigures struct {
	// Parked: sent after an attestation and not answered at once: the
	// verifier parked it, and the host's next turn used the connection.
	Parked int `json:"parked"`
	// Refused: answered at once with retry_after_seconds (or 503), the
	// verifier holding --max-parked waits; the host reconnected at its turn.
	Refused int `json:"refused"`
	// NotSent: the generator held HeldCap connections already (its file
	// descriptor bound); the host closed its connection and reconnected.
	NotSent int `json:"not_sent"`
	// Failed: the wait or its answer failed (connection closed, timeout,
	// an answer before its time); the host reconnected at its turn.
	Failed int `json:"failed"`
	// AttestNow: answered attest true (an operator's attest-now); the host
	// attested at its turn, not sooner.
	AttestNow int `json:"attest_now"`
	// HeldLost: connections the verifier closed after answering the wait
	// and before the nonce (the nonce went on a new connection).
	HeldLost int `json:"held_lost"`
	// NewConn: waits sent on a new connection (a TLS handshake, resumed),
	// the verifier having closed the one the evidence went on.
	NewConn     int      `json:"new_conn"`
	ErrorSample []string `json:"error_sample,omitempty"`
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func (r *Report) setLatencies(l []time.Duration) {
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	r.P50, r.P90, r.P99 = percentile(l, 0.50), percentile(l, 0.90), percentile(l, 0.99)
	if len(l) > 0 {
		r.Max = l[len(l)-1]
	}
}

// Write prints the report for people.
func (r *Report) Write(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	fmt.Fprintf(w, "hosts          %d enrolled of %d in %s (%d enrolment errors)\n", r.Enrolled, r.Hosts, r.EnrolTime.Round(time.Millisecond), r.EnrolErrors)
	fmt.Fprintf(w, "mode           %s, interval %s, measured %s\n", r.Mode, r.Interval, r.Wall.Round(time.Millisecond))
	if r.WarmupAttestations+r.WarmupErrors > 0 {
		fmt.Fprintf(w, "warm-up        %d attestations (not measured), errors %d, unexpected verdicts %d\n",
			r.WarmupAttestations, r.WarmupErrors, r.WarmupUnexpected)
		for _, e := range r.WarmupErrorSample {
			fmt.Fprintf(w, "warm-up error  %s\n", e)
		}
	}
	fmt.Fprintf(w, "attestations   %d (%.1f/s), errors %d, shed (503) %d, retries %d, unexpected verdicts %d\n", r.Attestations, r.Rate, r.Errors, r.Busy, r.Retries, r.Unexpected)
	var vs []string
	for k, n := range r.Verdicts {
		vs = append(vs, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(vs)
	fmt.Fprintf(w, "verdicts       %s\n", strings.Join(vs, " "))
	fmt.Fprintf(w, "event logs     %d of the attestations named the log by the hash the verifier held\n", r.LogsByHash)
	fmt.Fprintf(w, "bundles        %d of the attestations named the bundle files by the hashes the verifier held\n", r.BundlesByHash)
	r.writeConnections(w)
	fmt.Fprintf(w, "latency        p50 %s  p90 %s  p99 %s  max %s (generator max lag %s)\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), ms(r.MaxLag))
	type phase struct {
		name string
		f    PhaseFigures
	}
	var phases []phase
	if r.Connections == "park" {
		phases = append(phases, phase{"wake", r.Phases.Wake})
	}
	phases = append(phases, phase{"connect", r.Phases.Connect}, phase{"nonce", r.Phases.Nonce},
		phase{"quote", r.Phases.Quote}, phase{"evidence", r.Phases.Evidence})
	for _, p := range phases {
		fmt.Fprintf(w, "  %-12s p50 %s  p90 %s  p99 %s  max %s\n", p.name, ms(p.f.P50), ms(p.f.P90), ms(p.f.P99), ms(p.f.Max))
	}
	if r.Mode == "cold-start" {
		fmt.Fprintf(w, "cold start     last host had its verdict after %s\n", r.LastVerdict.Round(time.Millisecond))
	}
	if r.VerifierPID != 0 {
		fmt.Fprintf(w, "verifier       pid %d: CPU %.2f cores (enrolment %.2f), RSS peak %s, end %s, VmHWM %s\n", r.VerifierPID, r.VerifierCPU, r.VerifierCPUEnrol,
			mb(r.VerifierRSSPeak), mb(r.VerifierRSSEnd), mb(r.VerifierHWM))
	}
	if r.GeneratorGC != "" {
		fmt.Fprintf(w, "generator      %s, %d collections while measuring; RSS end %s, VmHWM %s\n", r.GeneratorGC, r.GeneratorGCs,
			mb(r.GeneratorRSS), mb(r.GeneratorHWM))
	}
	for _, e := range r.ErrorSample {
		fmt.Fprintf(w, "error          %s\n", e)
	}
}

// writeConnections prints how the attestations connected and, with --park,
// what became of the waits.
func (r *Report) writeConnections(w io.Writer) {
	fmt.Fprintf(w, "connections    %s: %d attestations over a held connection, %d over a new one; "+
		"TLS handshakes %d, of which %d resumed a session\n",
		r.Connections, r.HeldAttestations, r.NewAttestations, r.TLSHandshakes, r.TLSResumed)
	if r.Connections != "park" {
		return
	}
	wf := r.Waits
	limit := "unknown"
	if r.FDLimit > 0 {
		limit = fmt.Sprint(r.FDLimit)
	}
	fmt.Fprintf(w, "waits          parked %d, refused %d (verifier's --max-parked), not sent %d (generator holds at most %d, fd limit %s), "+
		"failed %d, attest-now %d; held connections lost before the nonce %d; sent on a new connection %d\n",
		wf.Parked, wf.Refused, wf.NotSent, r.HeldCap, limit, wf.Failed, wf.AttestNow, wf.HeldLost, wf.NewConn)
	for _, e := range wf.ErrorSample {
		fmt.Fprintf(w, "wait error     %s\n", e)
	}
}
