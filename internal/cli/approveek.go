package cli

import (
	"errors"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
)

// newApproveEKCmd approves a host's pending EK change. --ek is required:
// a bare approval would approve whichever TPM enrolled last, so the
// operator names the one they checked (`bootproof hosts show NAME` shows
// it as pending_ek.sha256) and the verifier refuses any other.
func newApproveEKCmd(cf *clientFlags, stdio IO) *cobra.Command {
	var ek string
	cmd := &cobra.Command{Use: "approve-ek NAME --ek sha256:HEX",
		Short: "Approve a host's changed TPM (admin), naming its EK; the host must enrol again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ek == "" {
				return errors.New("--ek is required: the pending EK's digest, as `bootproof hosts show " + args[0] +
					"` prints it (pending_ek.sha256); compare it with the TPM you installed before approving")
			}
			return simpleCall(cmd.Context(), *cf, stdio, "POST", "/api/v1/hosts/"+url.PathEscape(args[0])+"/approve-ek",
				api.ApproveEKRequest{EK: ek}, "approved EK "+ek+" of "+args[0]+"; it must enrol again")
		}}
	cmd.Flags().StringVar(&ek, "ek", "", "the pending EK to approve: sha256: and 64 hex digits (required)")
	return cmd
}
