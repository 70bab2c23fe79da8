package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/client"
)

// clientFlags are the connection flags every API client command shares.
type clientFlags struct{ s client.Settings }

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.s.URL, "url", "", "verifier URL (default $BOOTPROOF_URL)")
	cmd.PersistentFlags().StringVar(&f.s.Token, "token", "", "API token (default $BOOTPROOF_TOKEN)")
	cmd.PersistentFlags().StringVar(&f.s.CAFile, "ca", "", "verifier CA certificate (default $BOOTPROOF_CA)")
}

func (f *clientFlags) client() (*client.Client, error) { return client.New(f.s.FromEnv()) }

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return time.Since(*t).Round(time.Second).String() + " ago"
}

func newHostsCmd(stdio IO) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "hosts", Short: "List, show, attest, move and remove hosts (API client)"}
	cf.add(cmd)
	var status, group, search string
	var asJSON bool
	list := &cobra.Command{Use: "list", Short: "List hosts with their status", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {"1000"}}
			for k, v := range map[string]string{"status": status, "group": group, "search": search} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var page api.Page[api.Host]
			if err := c.Do(cmd.Context(), "GET", "/api/v1/hosts?"+q.Encode(), nil, &page); err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdio.Out, page)
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tGROUP\tTPM\tSTATUS\tLAST ATTESTED\tCODE\tREASON")
			for _, h := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Group, h.TPMFamily, h.Status, ago(h.LastAttested), h.ReasonCode, h.Reason)
			}
			return tw.Flush()
		}}
	list.Flags().StringVar(&status, "status", "", "only hosts with this status")
	list.Flags().StringVar(&group, "group", "", "only hosts of this group")
	list.Flags().StringVar(&search, "search", "", "only hosts whose name contains this")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := newHostsShowCmd(&cf, stdio)
	attest := &cobra.Command{Use: "attest NAME", Short: "Ask a host to attest now", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return simpleCall(cmd.Context(), cf, stdio, "POST", "/api/v1/hosts/"+url.PathEscape(args[0])+"/attest", nil,
				"attestation requested for "+args[0])
		}}
	remove := &cobra.Command{Use: "remove NAME", Short: "Remove a host (admin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return simpleCall(cmd.Context(), cf, stdio, "DELETE", "/api/v1/hosts/"+url.PathEscape(args[0]), nil, "removed "+args[0])
		}}
	var toGroup string
	move := &cobra.Command{Use: "move NAME --group G", Short: "Move a host to another group", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return simpleCall(cmd.Context(), cf, stdio, "POST", "/api/v1/hosts/"+url.PathEscape(args[0])+"/move",
				map[string]string{"group": toGroup}, "moved "+args[0]+" to "+toGroup)
		}}
	move.Flags().StringVar(&toGroup, "group", "", "target group")
	approve := newApproveEKCmd(&cf, stdio)
	cmd.AddCommand(list, show, attest, remove, move, approve, newHostsAcceptCmd(&cf, stdio))
	cmd.AddCommand(newHostsEvidenceCmd(&cf, stdio))
	return cmd
}

func simpleCall(ctx context.Context, cf clientFlags, stdio IO, method, path string, body any, done string) error {
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.Do(ctx, method, path, body, nil); err != nil {
		return err
	}
	fmt.Fprintln(stdio.Out, done)
	return nil
}

func newReportCmd(stdio IO) *cobra.Command {
	var cf clientFlags
	var format, status, group string
	cmd := &cobra.Command{Use: "report", Short: "Print the fleet's security report (table, json or csv)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			if group != "" {
				q.Set("group", group)
			}
			switch format {
			case "json":
				q.Set("format", format)
				var raw []byte
				if err := c.Do(cmd.Context(), "GET", "/api/v1/report?"+q.Encode(), nil, &raw); err != nil {
					return err
				}
				_, err = stdio.Out.Write(raw)
				return err
			case "csv":
				// Written here, from the JSON, by the same defusing writer as
				// the API's: a verifier's CSV is not trusted to be safe.
				hosts, err := reportRows(cmd.Context(), c, q)
				if err != nil {
					return err
				}
				return api.WriteCSV(stdio.Out, hosts)
			case "table":
				hosts, err := reportRows(cmd.Context(), c, q)
				if err != nil {
					return err
				}
				counts := map[string]int{}
				sbOnly := 0
				tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tGROUP\tTPM\tSTATUS\tSINCE\tCODE\tREASON")
				for _, h := range hosts {
					counts[h.Status]++
					if h.TrustLevel == appraisal.TrustSecureBootOnly {
						sbOnly++
					}
					// The stored headline, as hosts list and the web page
					// show it; never the first failed check in check order.
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Group, h.TPMFamily, h.Status, h.StatusSince.Format(time.RFC3339), h.ReasonCode, h.Reason)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(stdio.Out, "\nPassed %d%s  Failed %d  N/A %d  Unreachable %d  Pending %d\n",
					counts["Passed"], secureBootOnlyNote(sbOnly), counts["Failed"], counts["N/A"], counts["Unreachable"], counts["Pending"])
				return nil
			}
			return fmt.Errorf("--format must be table, json or csv")
		}}
	cf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	cmd.Flags().StringVar(&status, "status", "", "only hosts with this status")
	cmd.Flags().StringVar(&group, "group", "", "only hosts of this group")
	return cmd
}

// reportRows asks for the report as JSON, the one format the CLI reads.
func reportRows(ctx context.Context, c *client.Client, q url.Values) ([]api.ReportRow, error) {
	var rep api.Report
	if err := c.Do(ctx, "GET", "/api/v1/report?"+q.Encode(), nil, &rep); err != nil {
		return nil, err
	}
	return rep.Hosts, nil
}

func newTokenCmd(stdio IO) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens, and make join tokens (API client)"}
	cf.add(cmd)
	var name, role string
	create := &cobra.Command{Use: "create --name N --role viewer|operator|admin", Short: "Create an API token (admin); printed once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out api.APITokenResponse
			if err := c.Do(cmd.Context(), "POST", "/api/v1/api-tokens", api.APITokenRequest{Name: name, Role: role}, &out); err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, out.Token)
			return nil
		}}
	create.Flags().StringVar(&name, "name", "", "who or what the token is for")
	create.Flags().StringVar(&role, "role", "viewer", "viewer, operator or admin")
	list := &cobra.Command{Use: "list", Short: "List API tokens (admin)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out struct {
				Items []api.APITokenResponse `json:"items"`
			}
			if err := c.Do(cmd.Context(), "GET", "/api/v1/api-tokens", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tREVOKED")
			for _, t := range out.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", t.ID, t.Name, t.Role, t.Revoked)
			}
			return tw.Flush()
		}}
	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke an API token (admin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return simpleCall(cmd.Context(), cf, stdio, "DELETE", "/api/v1/api-tokens/"+url.PathEscape(args[0]), nil, "revoked "+args[0])
		}}
	var group, host, ttl string
	join := &cobra.Command{Use: "join [--group G] [--host NAME] [--ttl 24h]", Short: "Create a single-use join token for enrolling a host (operator)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out api.JoinTokenResponse
			if err := c.Do(cmd.Context(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: group, Host: host, TTL: ttl}, &out); err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, out.Token)
			return nil
		}}
	join.Flags().StringVar(&group, "group", "", "group the host joins (default: default)")
	join.Flags().StringVar(&host, "host", "", "the only host name the token may enrol")
	join.Flags().StringVar(&ttl, "ttl", "24h", "how long the token is valid")
	cmd.AddCommand(create, list, revoke, join)
	return cmd
}

func newPolicyCmd(stdio IO) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "policy", Short: "Show, set and learn group policies (API client)"}
	cf.add(cmd)
	get := &cobra.Command{Use: "get GROUP", Short: "Print a group's policy (YAML)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var raw []byte
			if err := c.Do(cmd.Context(), "GET", "/api/v1/groups/"+url.PathEscape(args[0])+"/policy", nil, &raw); err != nil {
				return err
			}
			_, err = stdio.Out.Write(raw)
			return err
		}}
	var yes bool
	var comment string
	set := &cobra.Command{Use: "set GROUP FILE", Short: "Set a group's policy from a YAML file, as its next version, after a preview (admin)",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setPolicy(cmd.Context(), stdio, &cf, args[0], args[1], comment, yes)
		}}
	set.Flags().BoolVar(&yes, "yes", false, "store without asking (scripts); the preview is still printed")
	set.Flags().StringVar(&comment, "comment", "", "why, kept with the version")
	cmd.AddCommand(get, set, newPolicyLearnCmd(stdio, &cf), newPolicyHistoryCmd(stdio, &cf), newPolicyDiffCmd(stdio, &cf),
		newPolicyRollbackCmd(stdio, &cf), newPolicyPreviewCmd(stdio, &cf))
	cmd.AddCommand(newPolicyAddCmd(&cf, stdio))
	return cmd
}
