package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/verifier"
)

// learnFlags are `policy learn`'s options besides the connection.
type learnFlags struct {
	yes     bool
	force   bool
	reason  string
	replace []string
	expire  string
}

func newPolicyLearnCmd(stdio IO, cf *clientFlags) *cobra.Command {
	var lf learnFlags
	cmd := &cobra.Command{Use: "learn GROUP HOST", Short: "Add HOST's latest boot to GROUP's reference values, after showing the change",
		Long: `learn takes HOST's latest boot as reference values of GROUP (operator). It
adds the boot's components to the group's references (the old ones stay
allowed) and keeps every other setting. It first shows the change as a diff
and asks for confirmation on a terminal; --yes applies without asking (for
scripts; without a terminal and without --yes nothing is applied). The
change is applied only if the group's policy is still the one shown.

A host whose latest verdict failed for anything but reference values
(Secure Boot off, a bad bundle, a failed quote or replay, an N/A host) is
refused; --force --reason TEXT takes a boot blocked by Secure Boot or
bundle checks anyway, with the reason in the audit log. Evidence that is not
authentic is never taken.

--replace CLASS drops the class's old references first; --expire 7d gives
the old references the boot supersedes, in the classes it measured, an
expiry, so that hosts not yet updated keep passing until then.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			return runLearn(cmd.Context(), c, stdio, args[0], args[1], lf)
		}}
	f := cmd.Flags()
	f.BoolVarP(&lf.yes, "yes", "y", false, "apply without asking for confirmation")
	f.BoolVar(&lf.force, "force", false, "take a boot blocked by Secure Boot or bundle checks (needs --reason)")
	f.StringVar(&lf.reason, "reason", "", "why, with --force; goes to the audit log")
	f.StringArrayVar(&lf.replace, "replace", nil, "drop CLASS's old references first (repeatable)")
	f.StringVar(&lf.expire, "expire", "", "give superseded references an expiry this far ahead (7d, 36h)")
	return cmd
}

// runLearn previews the change, shows it, confirms, then applies it
// against the previewed version.
func runLearn(ctx context.Context, c *client.Client, stdio IO, group, host string, lf learnFlags) error {
	if lf.force && strings.TrimSpace(lf.reason) == "" {
		return errors.New("--force needs --reason TEXT: why this boot may be a reference goes to the audit log")
	}
	path := "/api/v1/groups/" + url.PathEscape(group) + "/learn"
	req := api.LearnRequest{Host: host, DryRun: true, Force: lf.force, Reason: lf.reason, Replace: lf.replace, Expire: lf.expire}
	var preview api.LearnResponse
	if err := c.Do(ctx, "POST", path, req, &preview); err != nil {
		return err
	}
	showLearnPreview(stdio.Out, preview)
	if preview.Changes.Empty() {
		fmt.Fprintf(stdio.Out, "Nothing to apply: group %s's references already allow %s's boot.\n", group, host)
		return nil
	}
	fleetPreview(ctx, c, stdio, group, preview.Policy)
	if err := confirmLearn(stdio, group, lf.yes); err != nil {
		return err
	}
	req.DryRun, req.PolicyVersion = false, preview.PolicyVersion
	var done api.LearnResponse
	if err := c.Do(ctx, "POST", path, req, &done); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "Policy of group %s updated (version %s).\n", group, shortVersion(done.NewPolicyVersion))
	return nil
}

func showLearnPreview(w io.Writer, p api.LearnResponse) {
	fmt.Fprintf(w, "Taking %s's boot as reference values of group %s (policy version %s) changes:\n",
		p.Host, p.Group, shortVersion(p.PolicyVersion))
	for _, line := range strings.SplitAfter(p.Diff, "\n") {
		if line != "" {
			fmt.Fprint(w, "  "+line)
		}
	}
	for _, b := range p.Overridden {
		fmt.Fprintf(w, "Forced despite %s: %s\n", b.Code, b.Message)
	}
}

// isTerminal says whether the command may ask: stdin is a terminal, not
// a pipe, a file or /dev/null (terminal_*.go). A variable so that tests
// can answer.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && fileIsTerminal(f)
}

// errNotConfirmed ends a learn the operator did not confirm.
var errNotConfirmed = errors.New("not confirmed: nothing was changed")

// confirmLearn asks on a terminal; without one it refuses unless --yes.
func confirmLearn(stdio IO, group string, yes bool) error {
	if yes {
		return nil
	}
	if !isTerminal(stdio.In) {
		return errors.New("not applied: standard input is not a terminal to confirm on; pass --yes to apply the change shown")
	}
	fmt.Fprintf(stdio.Err, "Apply this change to group %s? [y/N] ", group)
	line, err := bufio.NewReader(stdio.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read confirmation: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

// fleetPreview shows what the learnt policy would do to the group's hosts,
// as policy set does before asking. A preview that cannot run (another is
// running, the token may not preview) is said, not fatal: the diff above
// is what is applied.
func fleetPreview(ctx context.Context, c *client.Client, stdio IO, group, yaml string) {
	pv, err := preview(ctx, c, group, []byte(yaml), verifier.PreviewListed)
	if err != nil {
		fmt.Fprintf(stdio.Out, "No preview of the group's hosts under the learnt policy: %v\n", err)
		return
	}
	writePreview(stdio, pv, "the learnt policy")
}
