package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// Config says what demo to run.
type Config struct {
	Hosts    int
	Listen   string
	DataDir  string
	Scenario bool
	// Binary is the bootproof executable the hosts run (default: this one).
	Binary string
	Out    io.Writer
	// Interval is the demo group's attestation interval (default 1m).
	Interval time.Duration
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	d, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.stop()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go d.watch(wctx)
	d.printf("Demo running. Press Ctrl-C to stop.\n\n")
	if cfg.Scenario {
		if err := d.scenario(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
	<-ctx.Done()
	d.printf("\nStopping %d hosts and the verifier...\n", len(d.fleet))
	return nil
}

type demo struct {
	cfg     Config
	srv     *server.Server
	url     string
	fleet   []member
	log     *slog.Logger
	cancel  context.CancelFunc
	srvDone chan error

	mu    sync.Mutex
	procs map[string]*exec.Cmd
	out   sync.Mutex
}

func (d *demo) printf(format string, args ...any) {
	d.out.Lock()
	defer d.out.Unlock()
	fmt.Fprintf(d.cfg.Out, format, args...)
}

func start(ctx context.Context, cfg Config) (*demo, error) {
	if cfg.Hosts <= 0 {
		cfg.Hosts = 12
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8443"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "bootproof-demo"
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the bootproof binary: %w", err)
		}
		cfg.Binary = exe
	}
	if err := checkWritable(cfg.DataDir); err != nil {
		return nil, err
	}
	makerDir := filepath.Join(cfg.DataDir, "maker-ca")
	if _, err := makerca.LoadOrCreate(makerDir); err != nil {
		return nil, fmt.Errorf("emulated TPM maker CA: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "verifier.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("verifier log: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(logFile, nil))
	d := &demo{cfg: cfg, log: log, fleet: Fleet(cfg.Hosts), procs: map[string]*exec.Cmd{}, srvDone: make(chan error, 1)}
	ready := make(chan string, 1)
	d.srv, err = server.Open(ctx, server.Config{Listen: cfg.Listen, DataDir: cfg.DataDir, EKRoots: []string{makerDir},
		Log: log, Sweep: 2 * time.Second, Ready: func(a string) { ready <- a }})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.srvDone <- d.srv.Run(sctx) }()
	select {
	case addr := <-ready:
		d.url = "https://" + displayAddr(addr)
	case err := <-d.srvDone:
		d.srv.Close()
		return nil, err
	}
	if err := d.setUp(ctx); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created (%v): choose another with --data", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("data directory %s is not writable (%v): choose another with --data", dir, err)
	}
	return os.Remove(probe)
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// setUp writes the demo policy, the tokens, and starts the fleet.
func (d *demo) setUp(ctx context.Context) error {
	v := d.srv.Verifier
	p, err := v.Policy(ctx, "esx")
	if err != nil {
		return err
	}
	if len(p.Bundles.TrustedRoots) == 0 {
		p = policy.Default()
		p.Interval = d.cfg.Interval
		p.VerdictMaxAge = 2 * d.cfg.Interval
		vendors, err := emuhost.DefaultVendors()
		if err != nil {
			return err
		}
		for _, c := range vendors.TrustedBundleRoots() {
			p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pemCert(c.Raw)))
		}
		if err := v.PutPolicy(ctx, "demo", "esx", p); err != nil {
			return err
		}
	}
	if err := d.secureBootOnly(ctx, p); err != nil {
		return err
	}
	viewer, err := d.token(ctx, "viewer.token", "demo viewer", auth.Viewer)
	if err != nil {
		return err
	}
	operator, err := d.token(ctx, "operator.token", "demo operator", auth.Operator)
	if err != nil {
		return err
	}
	ca, _ := filepath.Abs(filepath.Join(d.cfg.DataDir, "ca.pem"))
	d.printf("bootproof demo: verifier on SQLite in %s\n\n", d.cfg.DataDir)
	d.printf("  Security report: %s/\n", d.url)
	d.printf("  Viewer token (sign in with it): %s\n", viewer)
	d.printf("  Your browser will warn about the certificate: it is signed by the demo's own CA (%s).\n\n", ca)
	d.printf("To use the command line from another terminal (operator token):\n\n")
	d.printf("  export BOOTPROOF_URL=%s BOOTPROOF_TOKEN=%s BOOTPROOF_CA=%s\n", d.url, operator, ca)
	d.printf("  bootproof report\n\n")
	golden := d.fleet[0]
	if len(p.References.Firmware) > 0 {
		d.printf("Reference values of group esx already learned; starting %d hosts.\n", len(d.fleet))
		return d.startAll(ctx, d.fleet)
	}
	d.printf("Starting golden host %s to learn the group's reference values...\n", golden.Name)
	if err := d.startHost(ctx, golden, nil); err != nil {
		return err
	}
	if err := d.waitFor(ctx, golden.Name, func(h store.Host) bool { return h.LastAttested != nil }, 60*time.Second); err != nil {
		return fmt.Errorf("golden host %s: %w", golden.Name, err)
	}
	if _, err := v.LearnReference(ctx, "demo", verifier.LearnRequest{Host: golden.Name}); err != nil {
		return fmt.Errorf("learn reference values from %s: %w", golden.Name, err)
	}
	d.printf("Learned reference values of group esx from %s's boot (as an operator would from a golden host).\n", golden.Name)
	d.printf("Starting %d more hosts...\n", len(d.fleet)-1)
	return d.startAll(ctx, d.fleet[1:])
}

// secureBootOnly gives group esx-sb, once, esx's policy without reference
// values: the same vendors trusted, nothing constrained beyond Secure
// Boot, so that the demo shows both trust levels.
func (d *demo) secureBootOnly(ctx context.Context, esx *policy.Policy) error {
	v := d.srv.Verifier
	cur, err := v.Policy(ctx, secureBootOnlyGroup)
	if err != nil || len(cur.Bundles.TrustedRoots) > 0 {
		return err
	}
	p := esx.Clone()
	p.References, p.PerHost, p.ReferencesRequired = policy.References{}, nil, false
	return v.PutPolicy(ctx, "demo", secureBootOnlyGroup, p)
}
