package loadgen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/loadgen"
)

// runLoad runs cfg and logs its report.
func runLoad(t *testing.T, cfg loadgen.Config) *loadgen.Report {
	t.Helper()
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Write(&out)
	t.Logf("load run:\n%s", out.String())
	if rep.Errors+rep.WarmupErrors != 0 || rep.Unexpected+rep.WarmupUnexpected != 0 {
		t.Errorf("%d attestation errors and %d unexpected verdicts (warm-up included): %v %v", rep.Errors+rep.WarmupErrors,
			rep.Unexpected+rep.WarmupUnexpected, rep.ErrorSample, rep.WarmupErrorSample)
	}
	// What follows needs every host to have had its warm-up turn (a
	// session to resume, a wait parked); say so when the machine could
	// not keep the schedule.
	if rep.WarmupAttestations < cfg.Hosts {
		t.Errorf("only %d of %d hosts attested in the warm-up (generator lag up to %s): the machine did not keep the schedule",
			rep.WarmupAttestations, cfg.Hosts, rep.MaxLag)
	}
	if rep.Attestations < cfg.Hosts {
		t.Errorf("%d attestations measured in %s, want at least one per host (%d)", rep.Attestations, cfg.Duration, cfg.Hosts)
	}
	return rep
}

// TestParkHoldsWaits is a short --park run against a verifier that parks
// at most 15 of its 40 hosts' waits: the hosts it parks attest over the
// connection they held (no handshake), the ones it refuses reconnect at
// their turn and resume their TLS session, and nothing errs.
func TestParkHoldsWaits(t *testing.T) {
	const hosts, maxParked = 40, 15
	cfg := startVerifier(t, maxParked)
	cfg.Hosts, cfg.FailShare, cfg.Park = hosts, 0.1, true
	cfg.Interval, cfg.Warmup, cfg.Duration = time.Second, time.Second, 2*time.Second
	rep := runLoad(t, cfg)
	w := rep.Waits
	if w.Parked == 0 || w.Refused == 0 {
		t.Errorf("waits parked %d, refused %d: want both (%d hosts, verifier parks %d)", w.Parked, w.Refused, hosts, maxParked)
	}
	if w.Failed != 0 || w.NotSent != 0 || w.HeldLost != 0 {
		t.Errorf("waits failed %d, not sent %d, held connections lost %d: want none (%v)", w.Failed, w.NotSent, w.HeldLost, w.ErrorSample)
	}
	if rep.HeldAttestations == 0 || rep.NewAttestations == 0 || rep.HeldAttestations+rep.NewAttestations != rep.Attestations {
		t.Errorf("%d attestations over held connections and %d over new ones, of %d: want both, adding up",
			rep.HeldAttestations, rep.NewAttestations, rep.Attestations)
	}
	// A held connection needs no handshake; a new one needs one (for an
	// attestation, or for a wait after evidence with its log), and after
	// the warm-up every host has a session to resume.
	if rep.TLSHandshakes != rep.NewAttestations+rep.Waits.NewConn || rep.TLSResumed != rep.TLSHandshakes {
		t.Errorf("TLS handshakes %d, resumed %d, for %d attestations and %d waits over new connections: want one each, all resumed",
			rep.TLSHandshakes, rep.TLSResumed, rep.NewAttestations, rep.Waits.NewConn)
	}
}

// TestParkWithinGeneratorBound: a generator allowed fewer held
// connections than the verifier would park reconnects the other hosts at
// their turn instead of failing.
func TestParkWithinGeneratorBound(t *testing.T) {
	const hosts, maxHeld = 20, 5
	cfg := startVerifier(t, 0)
	cfg.Hosts, cfg.Park, cfg.MaxHeld = hosts, true, maxHeld
	cfg.Interval, cfg.Warmup, cfg.Duration = time.Second, time.Second, 2*time.Second
	rep := runLoad(t, cfg)
	if rep.HeldCap != maxHeld {
		t.Errorf("held connections bounded at %d, want %d", rep.HeldCap, maxHeld)
	}
	if w := rep.Waits; w.NotSent == 0 || w.Refused != 0 || w.Parked == 0 {
		t.Errorf("waits not sent %d, refused %d, parked %d: want some not sent over the generator's bound, none refused, some parked",
			w.NotSent, w.Refused, w.Parked)
	}
	if rep.HeldAttestations == 0 || rep.NewAttestations == 0 {
		t.Errorf("%d attestations over held connections and %d over new ones: want both", rep.HeldAttestations, rep.NewAttestations)
	}
}

// TestReconnectResumesSessions: without --park or --keep-alive every
// attestation opens a connection, and each of those handshakes resumes
// the host's TLS session from its previous turn, as the agent's would.
func TestReconnectResumesSessions(t *testing.T) {
	const hosts = 20
	cfg := startVerifier(t, 0)
	cfg.Hosts, cfg.Interval, cfg.Warmup, cfg.Duration = hosts, time.Second, time.Second, 2*time.Second
	rep := runLoad(t, cfg)
	if rep.HeldAttestations != 0 || rep.NewAttestations != rep.Attestations {
		t.Errorf("%d attestations over held connections, %d over new ones, of %d: want all new",
			rep.HeldAttestations, rep.NewAttestations, rep.Attestations)
	}
	if rep.TLSHandshakes != rep.Attestations || rep.TLSResumed != rep.TLSHandshakes {
		t.Errorf("TLS handshakes %d, resumed %d, for %d attestations: want one each, all resumed",
			rep.TLSHandshakes, rep.TLSResumed, rep.Attestations)
	}
}

// TestParkAfterEvidenceWithLog: the verifier closes an agent's connection
// after evidence that carries the event log (every host's warm-up turn
// here, its first), and the agent then sends its wait on a new connection,
// as its transport does; so each host's first measured turn goes over a
// held connection.
func TestParkAfterEvidenceWithLog(t *testing.T) {
	const hosts = 10
	cfg := startVerifier(t, 0)
	cfg.Hosts, cfg.FailShare, cfg.Park = hosts, 0, true
	// Turns 3 s apart: a wait is sent only while its turn is ahead, and a
	// loaded machine runs turns late.
	cfg.Interval, cfg.Warmup, cfg.Duration = 3*time.Second, 3*time.Second, 3*time.Second
	rep := runLoad(t, cfg)
	if rep.HeldAttestations != rep.Attestations {
		t.Errorf("%d of %d measured attestations over held connections, want all: the waits after evidence with its log were not parked",
			rep.HeldAttestations, rep.Attestations)
	}
}
