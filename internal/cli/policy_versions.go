package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/verifier"
)

// The policy commands that read and change a group's versions: history,
// diff, rollback, preview, and set, which previews before it stores.

func policyPath(group string) string { return "/api/v1/groups/" + url.PathEscape(group) + "/policy" }

func newPolicyHistoryCmd(stdio IO, cf *clientFlags) *cobra.Command {
	return &cobra.Command{Use: "history GROUP", Short: "List a group's policy versions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var vs api.List[api.PolicyVersion]
			if err := c.Do(cmd.Context(), "GET", policyPath(args[0])+"/versions", nil, &vs); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tAT\tAUTHOR\tCOMMENT")
			for i, v := range vs.Items {
				mark := ""
				if i == 0 {
					mark = " (current)"
				}
				fmt.Fprintf(tw, "%d%s\t%s\t%s\t%s\n", v.Version, mark, v.At.UTC().Format(time.RFC3339), orDash(v.Author), orDash(v.Comment))
			}
			return tw.Flush()
		}}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newPolicyDiffCmd(stdio IO, cf *clientFlags) *cobra.Command {
	return &cobra.Command{Use: "diff GROUP V1 V2", Short: "Show the lines of the policy YAML that differ between two versions", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var vs [2]api.PolicyVersion
			for i, arg := range args[1:] {
				n, err := versionArg(arg)
				if err != nil {
					return err
				}
				if err := c.Do(cmd.Context(), "GET", fmt.Sprintf("%s/versions/%d", policyPath(args[0]), n), nil, &vs[i]); err != nil {
					return err
				}
			}
			fmt.Fprintf(stdio.Out, "--- %s version %d (%s)\n+++ %s version %d (%s)\n", args[0], vs[0].Version, describeVersion(vs[0]),
				args[0], vs[1].Version, describeVersion(vs[1]))
			if !lineDiff(stdio.Out, vs[0].Policy, vs[1].Policy) {
				fmt.Fprintln(stdio.Out, "(the two versions are the same policy)")
			}
			return nil
		}}
}

func describeVersion(v api.PolicyVersion) string {
	s := v.At.UTC().Format(time.RFC3339) + " by " + orDash(v.Author)
	if v.Comment != "" {
		s += ": " + v.Comment
	}
	return s
}

func versionArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("policy version %q: want a positive whole number (see `bootproof policy history`)", s)
	}
	return n, nil
}

func newPolicyRollbackCmd(stdio IO, cf *clientFlags) *cobra.Command {
	return &cobra.Command{Use: "rollback GROUP VERSION", Short: "Make an old version the group's policy again, as a new version (admin)",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := versionArg(args[1])
			if err != nil {
				return err
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var v api.PolicyVersion
			if err := c.Do(cmd.Context(), "POST", policyPath(args[0])+":rollback", api.RollbackRequest{Version: n}, &v); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "policy of %s rolled back to version %d, stored as version %d\n", args[0], n, v.Version)
			return nil
		}}
}

func newPolicyPreviewCmd(stdio IO, cf *clientFlags) *cobra.Command {
	var listed int
	var asJSON bool
	cmd := &cobra.Command{Use: "preview GROUP FILE", Short: "Show what a policy would do to the group's hosts, storing nothing (operator)",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			if asJSON {
				var raw []byte
				if err := c.Do(cmd.Context(), "POST", previewPath(args[0], listed), b, &raw); err != nil {
					return err
				}
				_, err = stdio.Out.Write(raw)
				return err
			}
			pv, err := preview(cmd.Context(), c, args[0], b, listed)
			if err != nil {
				return err
			}
			writePreview(stdio, pv, args[1])
			return nil
		}}
	cmd.Flags().IntVar(&listed, "listed", verifier.PreviewListed, "how many changed hosts to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verifier's answer as JSON")
	return cmd
}

func previewPath(group string, listed int) string {
	return policyPath(group) + ":preview?listed=" + strconv.Itoa(listed)
}

func preview(ctx context.Context, c *client.Client, group string, yaml []byte, listed int) (*verifier.Preview, error) {
	var pv verifier.Preview
	if err := c.Do(ctx, "POST", previewPath(group, listed), yaml, &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}

// writePreview prints a preview for a person: the counts, the hosts that
// change with their new headline, how many more, and what was not checked.
func writePreview(stdio IO, pv *verifier.Preview, what string) {
	w := stdio.Out
	fmt.Fprintf(w, "Preview of group %s under %s: %d hosts re-appraised (%d appraisals) in %.2f s\n",
		pv.Group, what, pv.Hosts, pv.Appraisals, pv.Seconds)
	fmt.Fprintf(w, "  would pass %d, would fail %d, would be N/A %d\n", pv.WouldPass, pv.WouldFail, pv.WouldNA)
	fmt.Fprintf(w, "  unchanged %d, changed %d\n", pv.Unchanged, pv.Changed)
	if pv.Unreadable > 0 {
		fmt.Fprintf(w, "  unreadable %d (their stored evidence could not be read back)\n", pv.Unreadable)
	}
	if len(pv.Changes) > 0 {
		fmt.Fprintln(w, "Hosts that would change:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, ch := range pv.Changes {
			fmt.Fprintf(tw, "  %s\t%s -> %s\t%s\n", ch.Host, ch.From, ch.To, headline(ch))
		}
		_ = tw.Flush()
	}
	if pv.More > 0 {
		fmt.Fprintf(w, "  ... and %d more (--listed to see more)\n", pv.More)
	}
	fmt.Fprintln(w, "Note: "+pv.Note)
}

func headline(ch verifier.PreviewChange) string {
	if ch.ReasonCode == "" {
		return ch.Headline
	}
	return ch.ReasonCode + ": " + ch.Headline
}

// errSetNotConfirmed: policy set was not confirmed and stored nothing.
var errSetNotConfirmed = errors.New("policy not stored: answer y to store it, or pass --yes")

// setPolicy previews yaml for group, asks (unless yes) and stores it.
func setPolicy(ctx context.Context, stdio IO, cf *clientFlags, group, file, comment string, yes bool) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	// A group this creates requires reference values unless the file
	// says otherwise (policy_newgroup.go).
	b, note, err := forNewGroup(ctx, c, group, b)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(stdio.Err, note)
	}
	pv, err := preview(ctx, c, group, b, verifier.PreviewListed)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Code == "group.not_found":
		fmt.Fprintf(stdio.Out, "Group %s does not exist yet: it is created with this policy, no host is judged by it yet.\n", group)
	case err != nil:
		return err
	default:
		writePreview(stdio, pv, file)
	}
	if !yes && !confirm(stdio, fmt.Sprintf("Store %s as the next policy version of %s? [y/N] ", file, group)) {
		return errSetNotConfirmed
	}
	q := ""
	if comment != "" {
		q = "?comment=" + url.QueryEscape(comment)
	}
	hdr, err := c.DoHeader(ctx, "PUT", policyPath(group)+q, b, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "policy of %s updated: version %s\n", group, hdr.Get(api.PolicyVersionHeader))
	return nil
}

// confirm asks question on stdio and reports whether the answer is yes.
func confirm(stdio IO, question string) bool {
	fmt.Fprint(stdio.Out, question)
	line, _ := bufio.NewReader(stdio.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	fmt.Fprintln(stdio.Out)
	return false
}
