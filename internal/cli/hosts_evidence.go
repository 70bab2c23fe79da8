package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/wire"
)

func newHostsEvidenceCmd(cf *clientFlags, stdio IO) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "evidence NAME --out DIR",
		Short: "Fetch the evidence behind a host's latest verdict, to re-verify it with your own tools",
		Long: `Fetches the evidence the verifier judged in the host's latest attestation,
exactly as the agent sent it, and the host's enrolled AK, and writes:
  DIR/evidence.json       the verifier's whole answer
  DIR/ak.pub              the AK's TPMT_PUBLIC
  DIR/nonce.bin           the verifier's challenge (each quote's extraData)
  DIR/quote-N.attest      quote N's TPMS_ATTEST, as the TPM signed it (N from 0)
  DIR/quote-N.sig         quote N's TPMT_SIGNATURE
  DIR/pcrs.json           the quoted PCR values: {"sha256": {"0": "hex", ...}, ...}
  DIR/eventlog.bin        the TCG event log
  DIR/bundles/N.bundle    the installed bundle files
DIR must be empty or absent, so that no file of another attestation is left
beside these.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("hosts evidence: --out is required")
			}
			if err := emptyDir(out); err != nil {
				return fmt.Errorf("hosts evidence: %w", err)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			raw, err := c.HostEvidence(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var he api.HostEvidence
			if err := json.Unmarshal(raw, &he); err != nil {
				return fmt.Errorf("hosts evidence: decode the verifier's answer: %w", err)
			}
			if he.Evidence == nil {
				return errors.New("hosts evidence: the verifier's answer holds no evidence")
			}
			if err := writeHostEvidence(out, raw, he); err != nil {
				return fmt.Errorf("hosts evidence: %w", err)
			}
			return printEvidenceSummary(stdio.Out, out, he)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the evidence to (empty or absent)")
	return cmd
}

// emptyDir makes dir if it is absent and refuses one that holds anything:
// files from an earlier fetch (a quote-1 of a host that now sends one
// quote) would be mistaken for this attestation's.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty; give a new directory", dir)
	}
	return nil
}

// writeHostEvidence writes the answer raw and its parts as files the TPM
// and TCG tools read.
func writeHostEvidence(dir string, raw []byte, he api.HostEvidence) error {
	ev := he.Evidence
	files := map[string][]byte{fileEvidence: raw, fileNonce: ev.Nonce}
	if len(he.AKPublic) > 0 {
		files[fileAK] = he.AKPublic
	}
	if len(ev.EventLog) > 0 {
		files[fileEventLog] = ev.EventLog
	}
	for i, q := range ev.Quotes {
		attestFile, sigFile := quoteFiles(i)
		files[attestFile], files[sigFile] = q.Attest, q.Signature
	}
	if len(ev.Quotes) > 0 {
		pj, err := quotedPCRsJSON(ev.Quotes)
		if err != nil {
			return err
		}
		files[filePCRs] = pj
	}
	for i, b := range ev.Bundles {
		files[filepath.Join("bundles", strconv.Itoa(i)+".bundle")] = b
	}
	if len(ev.Bundles) > 0 {
		if err := os.Mkdir(filepath.Join(dir, "bundles"), 0o755); err != nil {
			return err
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// quotedPCRsJSON is pcrs.json (the form `bootproof evidence` writes) of the
// PCR values the quotes carry, every bank of every quote. A bank two quotes
// give different values for is refused: the verifier would not have passed
// it, and one file cannot hold both.
func quotedPCRsJSON(quotes []wire.Quote) ([]byte, error) {
	banks := map[string]map[string]string{}
	for qi, q := range quotes {
		for bank, vals := range q.PCRs {
			if banks[bank] == nil {
				banks[bank] = map[string]string{}
			}
			for pcr, v := range vals {
				idx, h := strconv.Itoa(pcr), hex.EncodeToString(v)
				if prev, ok := banks[bank][idx]; ok && prev != h {
					return nil, fmt.Errorf("quote %d gives %s PCR %d another value than an earlier quote", qi, bank, pcr)
				}
				banks[bank][idx] = h
			}
		}
	}
	b, err := json.MarshalIndent(banks, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode pcrs.json: %w", err)
	}
	return append(b, '\n'), nil
}

func printEvidenceSummary(w io.Writer, dir string, he api.HostEvidence) error {
	ev := he.Evidence
	_, err := fmt.Fprintf(w, "evidence of %s recorded %s: TPM %s, %d quote(s), event log %d bytes, %d bundle(s); written to %s\n",
		he.Host, he.At.Format(time.RFC3339), ev.TPMFamily, len(ev.Quotes), len(ev.EventLog), len(ev.Bundles), dir)
	return err
}
