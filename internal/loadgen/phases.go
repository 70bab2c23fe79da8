package loadgen

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"runtime/metrics"
	"sort"
	"sync/atomic"
	"time"
)

// Phases splits one attestation's latency into where it was spent, so a
// run's tail can be placed: waiting for a parked wait's answer (--park), on
// the connection (TCP and TLS handshake), on the verifier (nonce and
// evidence requests, from their first byte sent to the answer read) or in
// the generator (the simulated TPM's quote).
type Phases struct {
	// Wake is, for a host whose wait was parked (--park), from its turn
	// until the wait's answer was read: 0 when the verifier answered on
	// time, the verifier's delay when it woke the host late.
	Wake     time.Duration
	Connect  time.Duration // TCP connect and TLS handshake (0 on a kept connection)
	Nonce    time.Duration // the nonce request, the connection excluded
	Quote    time.Duration // the simulated TPM making the evidence
	Evidence time.Duration // the evidence request (and its resend with the log, if asked)
}

// connTally counts, for the report, the TLS handshakes the attestations
// made and how many of them resumed a session: a reconnecting host that
// does not resume costs the verifier a certificate signature and a chain
// check, which no other figure would show.
type connTally struct {
	handshakes, resumed atomic.Int64
}

func (c *connTally) handshake(cs tls.ConnectionState) {
	c.handshakes.Add(1)
	if cs.DidResume {
		c.resumed.Add(1)
	}
}

// connectTrace adds to p.Connect (p may be nil) the time from the start of
// a dial to the end of its TLS handshake, counts the handshake in tally,
// and sets *reused (if not nil) to whether the first request went over a
// connection that was open already.
func connectTrace(ctx context.Context, p *Phases, tally *connTally, reused *bool) context.Context {
	var began time.Time
	first := true
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if first && reused != nil {
				*reused = info.Reused
			}
			first = false
		},
		ConnectStart: func(string, string) {
			if began.IsZero() {
				began = time.Now()
			}
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			if err == nil {
				tally.handshake(cs)
			}
			if !began.IsZero() {
				if p != nil {
					p.Connect += time.Since(began)
				}
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
	Wake, Connect, Nonce, Quote, Evidence PhaseFigures
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
		Wake:     pick(func(p Phases) time.Duration { return p.Wake }),
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
