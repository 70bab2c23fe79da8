package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
)

// newHostsShowCmd is `bootproof hosts show NAME`: the host and its latest
// verdict, for people by default (what differs first, then what booted,
// in the host page's words), or the API's JSON unchanged with --format
// json.
func newHostsShowCmd(cf *clientFlags, stdio IO) *cobra.Command {
	var format string
	var asJSON bool
	cmd := &cobra.Command{Use: "show NAME", Short: "Show a host: what differs, what booted (--format json: the API's JSON)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				format = "json"
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format must be text or json, not %q", format)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.Do(cmd.Context(), "GET", "/api/v1/hosts/"+url.PathEscape(args[0]), nil, &raw); err != nil {
				return hostNotFound(args[0], err)
			}
			if format == "json" {
				_, err = stdio.Out.Write(append(raw, '\n'))
				return err
			}
			return showHostText(stdio.Out, raw, time.Now())
		}}
	cmd.Flags().StringVar(&format, "format", "text", "text or json (the API's answer, unchanged)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --format json")
	return cmd
}

// hostNotFound turns the verifier's 404 into one line naming the host.
func hostNotFound(name string, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("no host is named %q (%s)", name, ae.Code)
	}
	return err
}

// errNoVerdict is what showHostText returns for a host not appraised yet:
// there is nothing to show but its status.
var errNoVerdict = errors.New("no verdict yet")

// showHostText prints the API's answer for people.
func showHostText(w io.Writer, raw []byte, now time.Time) error {
	var h api.HostDetail
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("the verifier's answer is not a host: %w", err)
	}
	if h.Verdict == nil {
		return fmt.Errorf("%s is %s: %w", h.Name, h.Status, errNoVerdict)
	}
	return writeHostText(w, h, now)
}
