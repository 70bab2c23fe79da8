package loadgen

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"runtime/metrics"
	"sort"
	"time"
)

// Phases splits one attestation's latency into where it was spent, so a
// run's tail can be placed: on the connection (TCP and TLS handshake), on
// the verifier (nonce and evidence requests, from their first byte sent to
// the answer read) or in the generator (the simulated TPM's quote).
type Phases struct {
	Connect  time.Duration // TCP connect and TLS handshake (0 on a kept connection)
	Nonce    time.Duration // the nonce request, the connection excluded
	Quote    time.Duration // the simulated TPM making the evidence
	Evidence time.Duration // the evidence request (and its resend with the log, if asked)
}

// connectTrace adds to p.Connect the time from the start of a dial to the
// end of its TLS handshake.
func connectTrace(ctx context.Context, p *Phases) context.Context {
	var began time.Time
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart: func(string, string) {
			if began.IsZero() {
				began = time.Now()
			}
		},
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			if !began.IsZero() {
				p.Connect += time.Since(began)
				began = time.Time{}
			}
		},
	})
}

// PhaseFigures are percentiles of one phase over a run.
type PhaseFigures struct {
	P50, P90, P99, Max time.Duration
}

// PhaseReport holds a run's figures per phase.
type PhaseReport struct {
	Connect, Nonce, Quote, Evidence PhaseFigures
}

func phaseFigures(ds []time.Duration) PhaseFigures {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	f := PhaseFigures{P50: percentile(ds, 0.50), P90: percentile(ds, 0.90), P99: percentile(ds, 0.99)}
	if len(ds) > 0 {
		f.Max = ds[len(ds)-1]
	}
	return f
}

func summarisePhases(ps []Phases) PhaseReport {
	pick := func(f func(Phases) time.Duration) PhaseFigures {
		ds := make([]time.Duration, len(ps))
		for i, p := range ps {
			ds[i] = f(p)
		}
		return phaseFigures(ds)
	}
	return PhaseReport{
		Connect:  pick(func(p Phases) time.Duration { return p.Connect }),
		Nonce:    pick(func(p Phases) time.Duration { return p.Nonce }),
		Quote:    pick(func(p Phases) time.Duration { return p.Quote }),
		Evidence: pick(func(p Phases) time.Duration { return p.Evidence }),
	}
}

// generatorGC describes the generator's garbage collector settings.
// gcCycles is the number of garbage collections this process has
// completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func generatorGC(getenv func(string) string) string {
	val := func(k, dflt string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return dflt
	}
	return "GOGC=" + val("GOGC", "100 (default)") + " GOMEMLIMIT=" + val("GOMEMLIMIT", "none (default)")
}
