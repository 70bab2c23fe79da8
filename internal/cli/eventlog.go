package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

func newEventlogCmd(stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eventlog",
		Short: "Read a TCG event log and replay it against PCR values",
		Long: `Reads any TCG PC Client event log (crypto-agile or legacy SHA-1), as Linux
exposes it in /sys/kernel/security/tpm0/binary_bios_measurements or
'bootproof evidence' writes it.`,
	}
	cmd.AddCommand(newEventlogDumpCmd(stdio), newEventlogReplayCmd(stdio))
	return cmd
}

func readEventLog(path string) (*eventlog.Log, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	l, err := eventlog.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("parse event log %s: %w", path, err)
	}
	return l, nil
}

// dumpEvent is one event of `eventlog dump --json`.
type dumpEvent struct {
	Index       int               `json:"index"`
	Offset      int               `json:"offset"`
	PCR         uint32            `json:"pcr"`
	Type        string            `json:"type"`
	TypeValue   uint32            `json:"type_value"`
	Digests     map[string]string `json:"digests"`
	Description string            `json:"description"`
	DataSize    int               `json:"data_size"`
}

func newEventlogDumpCmd(stdio IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dump FILE [--json]",
		Short: "Print every event: index, PCR, type, digests and what the data says",
		Long: `Prints one event per line: index, PCR, type, each bank's digest (first 8 hex
digits) and a description of the data (UEFI variable, image device path,
boot loader text such as GRUB commands and the kernel command line,
separator value). Nothing is verified: use 'replay' for that.
With --json, prints the log as one JSON document with full digests.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := readEventLog(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeDumpJSON(stdio.Out, l)
			}
			writeDumpText(stdio.Out, l)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func bankNames(banks []eventlog.Alg) []string {
	out := make([]string, len(banks))
	for i, b := range banks {
		out[i] = b.String()
	}
	return out
}

func writeDumpText(w io.Writer, l *eventlog.Log) {
	fmt.Fprintf(w, "# %s log, banks %s, %d events\n", l.Format, strings.Join(bankNames(l.Banks), " "), len(l.Events))
	for _, e := range l.Events {
		var ds []string
		for _, d := range e.Digests {
			ds = append(ds, fmt.Sprintf("%s:%.4x", d.Alg, d.Value))
		}
		desc := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(uefi.Describe(e))
		fmt.Fprintf(w, "%4d  PCR %-2d  %-34s %s  %s\n", e.Index, uint32(e.PCR), e.Type, strings.Join(ds, " "), desc)
	}
}

// dumpOutput is `eventlog dump --json`.
type dumpOutput struct {
	Format string      `json:"format"`
	Banks  []string    `json:"banks"`
	Events []dumpEvent `json:"events"`
}

func writeDumpJSON(w io.Writer, l *eventlog.Log) error {
	out := dumpOutput{Format: l.Format, Banks: bankNames(l.Banks)}
	for _, e := range l.Events {
		d := dumpEvent{Index: e.Index, Offset: e.Offset, PCR: uint32(e.PCR), Type: e.Type.String(), TypeValue: uint32(e.Type),
			Digests: map[string]string{}, Description: uefi.Describe(e), DataSize: len(e.Data)}
		for _, dg := range e.Digests {
			d.Digests[dg.Alg.String()] = hex.EncodeToString(dg.Value)
		}
		out.Events = append(out.Events, d)
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
