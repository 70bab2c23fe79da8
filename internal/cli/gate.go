package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/gate"
)

// gateFlags are the settings flags may override over gate.yaml and env.
type gateFlags struct {
	config   string
	url, ca  string
	host     string
	failOpen bool
}

func newGateCmd(stdio IO) *cobra.Command {
	var fl gateFlags
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Placement gate: may workloads start on or migrate to this host (also a libvirt hook)",
		Long: `The placement gate asks the verifier whether workloads may be placed on a host,
and caches the verifier's signed trust token so that a short verifier outage
does not stop healthy hosts, for no longer than the token's lifetime. When
neither the verifier nor a valid cached token answers, it denies (fail-closed)
unless fail_open is set.

Settings come from --config (default /etc/bootproof/gate.yaml, or
BOOTPROOF_GATE_CONFIG), then BOOTPROOF_URL, BOOTPROOF_TOKEN, BOOTPROOF_CA and
BOOTPROOF_GATE_HOST, then flags. See docs/enforcement.md.`,
	}
	p := cmd.PersistentFlags()
	p.StringVar(&fl.config, "config", "", "gate configuration file (default "+gate.DefaultConfigPath+")")
	p.StringVar(&fl.url, "url", "", "verifier URL (overrides verifier_url)")
	p.StringVar(&fl.ca, "ca", "", "verifier CA certificate, PEM (overrides ca_file)")
	p.BoolVar(&fl.failOpen, "fail-open", false, "allow when no answer can be had (loudly); default fail-closed")
	cmd.AddCommand(newGateCheckCmd(stdio, &fl), newGateHookCmd(stdio, &fl), newGatePinKeyCmd(stdio, &fl))
	return cmd
}

func newGateCheckCmd(stdio IO, fl *gateFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Decide for a host: exit 0 allow, 1 deny, with one line saying why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadGateConfig(cmd, fl)
			if err != nil {
				fmt.Fprintf(stdio.Out, "deny: host %s: gate configuration: %v [%s]\n", fl.host, err, gate.SourceFailClosed)
				return &ExitError{Code: 1}
			}
			g, err := gate.New(cfg)
			if err != nil {
				fmt.Fprintf(stdio.Out, "deny: host %s: %v [%s]\n", cfg.Host, err, gate.SourceFailClosed)
				return &ExitError{Code: 1}
			}
			d := g.Check(cmd.Context(), cfg.Host)
			for _, w := range d.Warnings {
				fmt.Fprintln(stdio.Err, "bootproof gate: warning:", w)
			}
			if d.Source == gate.SourceFailOpen {
				fmt.Fprintln(stdio.Err, "bootproof gate: WARNING: FAIL-OPEN: placement allowed with no answer from the verifier or a valid token")
			}
			fmt.Fprintln(stdio.Out, d.Line())
			if !d.Allow {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fl.host, "host", "", "host to decide for (default: host in the config, or this system's name)")
	return cmd
}

func newGateHookCmd(stdio IO, fl *gateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "libvirt-hook GUEST OPERATION SUB-OPERATION EXTRA",
		Short: "Run as libvirt's qemu hook: refuse to start or accept guests on an untrusted host",
		Long: `Run as libvirt's qemu hook (/etc/libvirt/hooks/qemu), which libvirt calls with
the guest name, the operation, the sub-operation and an extra argument, and the
domain XML on stdin. "prepare begin", "start begin" and "migrate begin" (the
destination of an incoming migration) are decided for this host: exit 0 lets
libvirt go on, exit 1 makes it refuse, with the reason on stderr. Every other
operation exits 0 at once without contacting the verifier. Nothing is written
to stdout, which libvirt would read as a replacement domain XML.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Drain stdin first, whatever the operation: libvirt writes the
			// domain XML and fails the call if the pipe breaks.
			xml := drainStdin(stdio.In, gate.MaxDomainXML, 2*time.Second)
			call, err := gate.ParseHookArgs(args)
			if err != nil {
				fmt.Fprintln(stdio.Err, "bootproof gate:", err)
				return &ExitError{Code: 1}
			}
			if !call.Gated() {
				return nil
			}
			cfg, err := loadGateConfig(cmd, fl)
			var g *gate.Gate
			if err == nil {
				g, err = gate.New(cfg)
			}
			if err != nil {
				fmt.Fprintf(stdio.Err, "bootproof gate: refused guest %s (%s %s): gate configuration: %v [%s]\n",
					call.Guest, call.Operation, call.SubOperation, err, gate.SourceFailClosed)
				return &ExitError{Code: 1}
			}
			if code := g.Hook(cmd.Context(), call, xml, stdio.Err); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
}

func newGatePinKeyCmd(stdio IO, fl *gateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pin-key",
		Short: "Fetch the verifier's trust-token key once, over TLS, and save it to token_key_file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadGateConfig(cmd, fl)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			cfg.Timeout = 30 * time.Second
			ids, err := gate.PinKey(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "pinned trust-token key %v in %s\n", ids, cfg.TokenKeyFile)
			return nil
		},
	}
}

// loadGateConfig merges gate.yaml, the environment and flags.
func loadGateConfig(cmd *cobra.Command, fl *gateFlags) (gate.Config, error) {
	path, explicit := fl.config, fl.config != ""
	if !explicit {
		if v := os.Getenv("BOOTPROOF_GATE_CONFIG"); v != "" {
			path, explicit = v, true
		} else {
			path = gate.DefaultConfigPath
		}
	}
	file, err := gate.LoadFile(path, explicit)
	if err != nil {
		return gate.Config{}, err
	}
	file = file.FromEnv()
	if fl.url != "" {
		file.VerifierURL = fl.url
	}
	if fl.ca != "" {
		file.CAFile = fl.ca
	}
	if fl.host != "" {
		file.Host = fl.host
	}
	if cmd.Flags().Changed("fail-open") {
		file.FailOpen = fl.failOpen
	}
	return file.Config()
}

// drainStdin reads r to its end, at most max bytes, waiting no longer than
// limit: a hook run by hand from a terminal must not hang on stdin.
func drainStdin(r io.Reader, max int64, limit time.Duration) []byte {
	if r == nil {
		return nil
	}
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, max))
		done <- b
	}()
	select {
	case b := <-done:
		return b
	case <-time.After(limit):
		return nil
	}
}
