package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// IO is where a command reads and writes; tests pass buffers.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Stdio is the process's standard streams.
func Stdio() IO { return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// ExitError carries a command's exit status when it is not 0 or 1, or when
// the command has already said why it failed.
type ExitError struct {
	Code int
	Err  error // nil when the command printed its own message
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the command line and returns the process exit status.
func Main(ctx context.Context, args []string, stdio IO) int {
	root := NewRoot(stdio)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stdio.Err, "bootproof:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stdio.Err, "bootproof:", err)
	return 1
}

// NewRoot builds the command tree.
func NewRoot(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "bootproof",
		Short: "Attest that every host booted only trusted, signed code with Secure Boot on",
		Long: `bootproof tells, host by host, whether each host booted only trusted, signed
code with UEFI Secure Boot on, proven by the host's TPM 2.0 and judged by a
separate verifier, never by the host itself.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	// The one list of subcommands; each lives in its own file.
	root.AddCommand(newVerifierCmd(stdio), newAgentCmd(stdio), newHostCmd(stdio), newDemoCmd(stdio),
		newHostsCmd(stdio), newReportCmd(stdio), newTokenCmd(stdio), newPolicyCmd(stdio),
		newBundleCmd(stdio), newEvidenceCmd(stdio), newEventlogCmd(stdio), newGateCmd(stdio), newLoadgenCmd(stdio),
		newAppraiseCmd(stdio))
	root.AddCommand(newMeasureCmd(stdio))
	return root
}
