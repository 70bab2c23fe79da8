package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
)

// newLoadgenCmd is the load generator: a test and sizing tool, never part
// of a product path.
func newLoadgenCmd(stdio IO) *cobra.Command {
	var cfg loadgen.Config
	var url, token, caFile, makerDir, ek, ak string
	var asJSON, initMaker bool
	var pprofAddr, acksFile string
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Load-test a verifier with simulated TPM hosts (testing and sizing only)",
		Long: `Simulate many TPM 2.0 hosts in one process and drive a verifier with them.
FOR LOAD TESTS ONLY: the simulated TPMs hold their keys in software.

Each host gets a software EK certified by the maker CA in --maker-ca (the
verifier must trust it: start it with --ek-roots on that folder, and never
trust it in production), a software AK, and evidence byte-for-byte as a TPM
makes it (TPMS_ATTEST marshalled with go-tpm, ECDSA TPMT_SIGNATURE) over event
logs the emulated boot chain produced once per profile on the reference TPM.
The hosts enrol through the normal protocol (join token, credential
activation), then attest every --interval for --duration (or all at once
with --cold-start). It reports attestations per second, latency
percentiles (split into connection, nonce, quote and evidence), errors, the
attestations over held and new connections, the TLS handshakes and how many
resumed a session, and, with --verifier-pid, the verifier's CPU and memory.

By default every attestation opens a connection (resuming the host's TLS
session). With --park each host does what the agent does: after its verdict
it sends GET /agent/v1/wait?timeout=<ms until its next turn> on its
connection; a wait the verifier parks is answered at the host's turn and
its nonce and evidence follow on that connection, with no handshake; a wait
refused over the verifier's --max-parked closes the connection and the host
reconnects at its turn. Latency counts from the turn, so a late answer to
the wait counts against it (the "wake" phase). Each held connection is a
file descriptor: a run that cannot fit in this process's limit (ulimit -Hn)
is refused before it starts, and --park holds at most what the limit leaves
(the report says so; hosts over it reconnect at their turn).

The generator's own garbage collection pauses show in the latencies it
measures. With a large fleet run it with GOGC=off and a GOMEMLIMIT it may
grow to (GOGC=off GOMEMLIMIT=8GiB for 100,000 hosts): it then collects only
near that limit. The report says how it ran.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if initMaker {
				if makerDir == "" {
					return fmt.Errorf("loadgen: --init-maker needs --maker-ca")
				}
				_, err := makerca.LoadOrCreate(makerDir)
				return err
			}
			url, token, caFile = envOr(url, "BOOTPROOF_URL"), envOr(token, "BOOTPROOF_TOKEN"), envOr(caFile, "BOOTPROOF_CA")
			if caFile == "" {
				return fmt.Errorf("loadgen: --ca (the verifier's CA certificate) is required")
			}
			ca, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("loadgen: read verifier CA: %w", err)
			}
			if makerDir == "" {
				return fmt.Errorf("loadgen: --maker-ca is required (a folder the verifier trusts with --ek-roots)")
			}
			maker, err := makerca.LoadOrCreate(makerDir)
			if err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			cfg.URL, cfg.AdminToken, cfg.CAPEM, cfg.Maker = url, strings.TrimSpace(token), ca, maker
			cfg.EK, cfg.AK = loadgen.EKKind(ek), loadgen.AKKind(ak)
			cfg.Progress = stdio.Err
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr, slog.New(slog.NewTextHandler(stdio.Err, nil))); err != nil {
					return err
				}
			}
			closeAcks, err := openAcks(&cfg, acksFile)
			if err != nil {
				return err
			}
			rep, err := loadgen.Run(cmd.Context(), cfg)
			if cerr := closeAcks(); err == nil {
				err = cerr
			}
			if rep != nil {
				if asJSON {
					if jerr := printJSON(stdio.Out, rep); jerr != nil {
						return jerr
					}
				} else {
					rep.Write(stdio.Out)
				}
			}
			if err != nil {
				return err
			}
			if errs, unexp := rep.Errors+rep.WarmupErrors, rep.Unexpected+rep.WarmupUnexpected; errs > 0 || rep.EnrolErrors > 0 || unexp > 0 {
				return &ExitError{Code: 3, Err: fmt.Errorf("loadgen: %d errors, %d enrolment errors, %d unexpected verdicts (warm-up included)", errs, rep.EnrolErrors, unexp)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "verifier URL (default $BOOTPROOF_URL)")
	f.StringVar(&token, "token", "", "admin API token: sets the load group's policy, makes join tokens (default $BOOTPROOF_TOKEN)")
	f.StringVar(&caFile, "ca", "", "verifier CA certificate (default $BOOTPROOF_CA)")
	f.StringVar(&makerDir, "maker-ca", "", "folder of the loadgen maker CA (created if empty); the verifier's --ek-roots")
	f.StringVar(&ek, "ek", "ecc", "simulated EK kind: ecc (TCG template L-2) or rsa (L-1, slow to generate)")
	f.StringVar(&ak, "ak", "ecc", "simulated AK kind: ecc (one per host) or rsa (the agent's RSA 2048 template; a pool of 16 keys shared by the hosts)")
	f.StringVar(&cfg.Group, "group", "loadgen", "host group of the simulated hosts")
	f.StringVar(&cfg.Prefix, "prefix", "load-", "host name prefix")
	f.IntVar(&cfg.Hosts, "hosts", 1000, "number of simulated hosts")
	f.Float64Var(&cfg.FailShare, "fail-share", 0.1, "share of hosts booted with a failing profile (0..1)")
	f.DurationVar(&cfg.Interval, "interval", 5*time.Minute, "each host attests once per interval")
	f.DurationVar(&cfg.Duration, "duration", time.Minute, "length of the measured run (cold start: deadline)")
	f.BoolVar(&cfg.ColdStart, "cold-start", false, "all hosts attest at once, retrying as agents do")
	f.IntVar(&cfg.EnrolWorkers, "enrol-workers", 16, "concurrent enrolments")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", 256, "concurrent attestations in the steady run")
	f.BoolVar(&cfg.KeepAlive, "keep-alive", false, "keep each host's connection open and idle between attestations "+
		"(the verifier closes idle connections after 2 minutes; use --park to hold them as the agent does)")
	f.BoolVar(&cfg.Park, "park", false, "hold each host's connection between turns with the agent's wait parked on it, "+
		"reconnecting at the turn only when the verifier refuses the wait (over its --max-parked); "+
		"held connections are bounded by this process's file descriptor limit")
	f.DurationVar(&cfg.Warmup, "warmup", 0, "steady mode: run the schedule this long before measuring (hosts then resume TLS sessions and name held logs and bundles)")
	f.StringVar(&acksFile, "acks", "", "write one JSON line per attestation the verifier acknowledged (host, nonce, status, sent, acked) to this file")
	f.StringVar(&pprofAddr, "pprof-listen", "", "serve the generator's Go profiler on this loopback address (diagnostics)")
	f.BoolVar(&cfg.FullLogs, "full-logs", false, "send the event log with every attestation, never its hash (as agents before it did)")
	f.BoolVar(&cfg.FullBundles, "full-bundles", false, "send the bundle files with every attestation, never their hashes (as agents before it did); with --full-logs, send all evidence every time")
	f.IntVar(&cfg.VerifierPID, "verifier-pid", 0, "PID of the verifier process, sampled from /proc")
	f.BoolVar(&initMaker, "init-maker", false, "only create the --maker-ca folder (before starting the verifier) and exit")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func envOr(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// openAcks points cfg.Acks at a new file at path (none when path is
// empty); the returned function closes it.
func openAcks(cfg *loadgen.Config, path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("loadgen: --acks: %w", err)
	}
	cfg.Acks = f
	return f.Close, nil
}
