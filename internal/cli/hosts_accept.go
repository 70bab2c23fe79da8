package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/policy"
)

// newHostsAcceptCmd is `bootproof hosts accept NAME... --class CLASS`: the
// operator's word that a per-host class's new value is good on these hosts.
func newHostsAcceptCmd(cf *clientFlags, stdio IO) *cobra.Command {
	var class string
	cmd := &cobra.Command{Use: "accept NAME [NAME...] --class CLASS",
		Short: "Pin the current value of a per-host class (e.g. initrd) on hosts, from their latest verified evidence (operator)",
		Long: "Pins, on each host named, the value of a class its group pins per host (policy per_host) that the host's\n" +
			"latest evidence shows, replacing the pin, and asks the hosts to attest now. All hosts or none: a host whose\n" +
			"latest evidence is not authentic (quote or event log replay failed) is refused. Audited.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if class == "" {
				return fmt.Errorf("--class is required (one of %s)", strings.Join(policy.Classes, ", "))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out api.AcceptResponse
			if err := c.Do(cmd.Context(), "POST", "/api/v1/hosts/accept", api.AcceptRequest{Hosts: args, Class: class}, &out); err != nil {
				return err
			}
			for _, p := range out.Pins {
				fmt.Fprintf(stdio.Out, "%s: %s pinned since %s (%s %s)\n", p.Host, p.Class, p.Since.UTC().Format(time.RFC3339), p.Bank, strings.Join(p.Digests, " "))
			}
			return nil
		}}
	cmd.Flags().StringVar(&class, "class", "", "the component class to accept, e.g. initrd")
	return cmd
}

// secureBootOnlyNote is the report table's count of Passed hosts whose
// group constrains no component, after the Passed count.
func secureBootOnlyNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d Secure Boot only: no reference values)", n)
}
