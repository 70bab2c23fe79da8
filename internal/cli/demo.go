package cli

import (
	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/demo"
)

func newDemoCmd(stdio IO) *cobra.Command {
	var cfg demo.Config
	cmd := &cobra.Command{
		Use:   "demo [--hosts N] [--listen ADDR] [--data DIR] [--scenario]",
		Short: "Run a verifier on SQLite with a fleet of emulated hosts, and print the report's URL",
		Long: `Run the demo: a verifier with its SQLite store in --data, and --hosts emulated
hosts (each its own process and TPM) of every profile: good, secureboot-off,
tampered-kernel, rogue-bootloader, unsigned-bundle, old-kernel,
community-bundle, tpm12 and no-tpm. The group's reference values are learned
from the first good host's boot. Run it again with the same --data and the same
hosts come back with their identities and history. Ctrl-C stops everything.

--scenario then reboots a good host with Secure Boot off (it goes Failed) and
on again (it goes back to Passed).

The demo relaxes nothing but the certificate: the verifier's CA is its own,
so a browser warns once; sign in with the printed viewer token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = stdio.Out
			return demo.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Hosts, "hosts", 12, "number of emulated hosts")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "address of the verifier")
	f.StringVar(&cfg.DataDir, "data", "bootproof-demo", "data directory")
	f.BoolVar(&cfg.Scenario, "scenario", false, "act out a Secure Boot off/on reboot of a good host")
	f.DurationVar(&cfg.Interval, "interval", 0, "attestation interval of the demo group (default 1m)")
	return cmd
}
