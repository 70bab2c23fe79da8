package loadgen

import "fmt"

// Why the generator plans its file descriptors.
//
// Every connection the generator holds is a file descriptor, and a process
// has a hard limit on them (ulimit -Hn; Go raises the soft limit to it at
// start). A run that passed it would fail mid-run with EMFILE on every new
// connection, which the report would show as the verifier's errors. So
// each way of connecting is bounded before the run: reconnecting per
// attestation holds at most --max-in-flight connections; --keep-alive and
// a cold start hold one per host, and a fleet larger than the limit is
// refused before it starts; --park holds one per parked host, which only
// the verifier's --max-parked decides, so the held connections get a
// bound of their own (heldCap) and a host over it reconnects at its turn,
// as a refused one does, counted as a wait not sent.

// fdReserve is what the generator keeps for itself: enrolment's
// connections (two per worker at most), standard streams, /proc reads,
// the profiler, the Go runtime's own.
func fdReserve(cfg Config) int { return 64 + 2*cfg.EnrolWorkers }

// fdPlan checks that cfg's run fits in limit file descriptors (0: unknown,
// nothing is checked) and returns the bound of the connections held between
// turns with Park.
func fdPlan(cfg Config, limit int) (heldCap int, err error) {
	reserve := fdReserve(cfg)
	need := func(conns int, what string) error {
		if limit > 0 && conns+reserve > limit {
			return fmt.Errorf("%s: %d connections and %d descriptors for the generator need %d file descriptors, "+
				"over this process's limit of %d (ulimit -Hn); run fewer hosts per generator process", what, conns, reserve, conns+reserve, limit)
		}
		return nil
	}
	switch {
	case cfg.ColdStart:
		err = need(cfg.Hosts, fmt.Sprintf("a cold start connects all %d hosts at once", cfg.Hosts))
	case cfg.KeepAlive:
		err = need(cfg.Hosts, fmt.Sprintf("keep-alive holds a connection for each of %d hosts (--park bounds its own)", cfg.Hosts))
	default:
		err = need(cfg.MaxInFlight, fmt.Sprintf("%d attestations in flight", cfg.MaxInFlight))
	}
	if err != nil || !cfg.Park {
		return 0, err
	}
	heldCap = cfg.Hosts
	if limit > 0 {
		heldCap = min(heldCap, limit-reserve-cfg.MaxInFlight)
	}
	if cfg.MaxHeld > 0 {
		heldCap = min(heldCap, cfg.MaxHeld)
	}
	return heldCap, nil
}
