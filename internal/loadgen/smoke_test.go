package loadgen_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/server"
)

// TestSmokeLoad is the short load run CI does: 2,000 simulated hosts enrol
// through the protocol against a verifier on SQLite (in this process) and
// attest every 15 s, a turn of warm-up and a measured turn, a tenth of them
// failing. It asserts what must hold at any speed: every host enrols, no
// attestation errs, every verdict is the one its profile earns, the fleet
// gets round, and hosts attesting again name their event log and bundle
// files by hash. The figures (rate, latency, CPU and memory, here of
// verifier and generator together) are logged, not asserted:
// docs/performance.md has the measured ones.
func TestSmokeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load smoke run: skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	makerDir := filepath.Join(dir, "maker")
	maker, err := makerca.LoadOrCreate(makerDir)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	srv, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		EKRoots: []string{makerDir}, Ready: func(addr string) { ready <- addr }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	token, _, err := srv.Verifier.CreateAPIToken(ctx, "smoke", "loadgen admin", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-runErr:
		t.Fatalf("verifier did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("verifier did not start within 30 s")
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "data", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	const hosts = 2000
	var progress strings.Builder
	rep, err := loadgen.Run(ctx, loadgen.Config{URL: "https://" + addr, CAPEM: caPEM, AdminToken: token, Maker: maker,
		Hosts: hosts, FailShare: 0.1, Interval: 15 * time.Second, Warmup: 15 * time.Second, Duration: 15 * time.Second,
		VerifierPID: os.Getpid(), Progress: &progress, ProgressEvery: 10 * time.Second})
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
	if rep.BundlesByHash != rep.Attestations {
		t.Errorf("%d of the %d measured attestations named their bundle files by hash; want all",
			rep.BundlesByHash, rep.Attestations)
	}
}
