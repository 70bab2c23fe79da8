package loadgen_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/loadgen"
)

// TestSmokeLoad is the short load run CI does: 2,000 simulated hosts enrol
// through the protocol against a verifier on SQLite (in this process) and
// attest every 15 s, a turn of warm-up and a measured turn, a tenth of them
// failing. It asserts what must hold at any speed: every host enrols, no
// attestation errs, every verdict is the one its profile earns, the fleet
// gets round, and hosts attesting again name their event log and bundle
// files by hash and resume their TLS session. The figures (rate, latency, CPU and memory, here of
// verifier and generator together) are logged, not asserted:
// docs/performance.md has the measured ones.
func TestSmokeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load smoke run: skipped with -short")
	}
	cfg := startVerifier(t, 0)
	const hosts = 2000
	var progress strings.Builder
	cfg.Hosts, cfg.FailShare, cfg.Interval, cfg.Warmup, cfg.Duration = hosts, 0.1, 15*time.Second, 15*time.Second, 15*time.Second
	cfg.VerifierPID, cfg.Progress, cfg.ProgressEvery = os.Getpid(), &progress, 10*time.Second
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Write(&out)
	t.Logf("smoke load run (verifier and generator share this process):\n%s%s", progress.String(), out.String())
	if rep.Enrolled != hosts || rep.EnrolErrors != 0 {
		t.Errorf("enrolled %d of %d hosts, %d enrolment errors", rep.Enrolled, hosts, rep.EnrolErrors)
	}
	if rep.Errors != 0 || rep.Unexpected != 0 {
		t.Errorf("%d attestation errors and %d unexpected verdicts: %v", rep.Errors, rep.Unexpected, rep.ErrorSample)
	}
	if rep.WarmupErrors != 0 || rep.WarmupUnexpected != 0 {
		t.Errorf("warm-up: %d attestation errors and %d unexpected verdicts: %v", rep.WarmupErrors, rep.WarmupUnexpected,
			rep.WarmupErrorSample)
	}
	if rep.Verdicts["Passed"] == 0 || rep.Verdicts["Failed"] == 0 {
		t.Errorf("verdicts %v: want both Passed (good hosts) and Failed (the failing tenth)", rep.Verdicts)
	}
	// Each interval is the whole fleet; allow a slow, shared machine half.
	if rep.WarmupAttestations < hosts/2 || rep.Attestations < hosts/2 {
		t.Errorf("only %d attestations in the warm-up and %d in the measured interval, of %d hosts",
			rep.WarmupAttestations, rep.Attestations, hosts)
	}
	// After its first turn, a host names the log the verifier holds.
	if rep.LogsByHash != rep.Attestations {
		t.Errorf("%d of the %d measured attestations named their event log by hash; want all",
			rep.LogsByHash, rep.Attestations)
	}
	// After its first turn, a host resumes its TLS session.
	if rep.TLSResumed != rep.TLSHandshakes || rep.TLSHandshakes < rep.Attestations {
		t.Errorf("%d of %d TLS handshakes resumed a session, for %d attestations; want a handshake each, all resumed",
			rep.TLSResumed, rep.TLSHandshakes, rep.Attestations)
	}
	if rep.BundlesByHash != rep.Attestations {
		t.Errorf("%d of the %d measured attestations named their bundle files by hash; want all",
			rep.BundlesByHash, rep.Attestations)
	}
}
