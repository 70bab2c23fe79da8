package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
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

// replayPCR is one PCR of `eventlog replay --json`.
type replayPCR struct {
	PCR    int    `json:"pcr"`
	Status string `json:"status"`
	Events int    `json:"events"`
	Want   string `json:"want"`
	Got    string `json:"got"`
}

// replayBank is one bank of `eventlog replay --json`.
type replayBank struct {
	Bank  string      `json:"bank"`
	Match bool        `json:"match"`
	Error string      `json:"error,omitempty"`
	PCRs  []replayPCR `json:"pcrs,omitempty"`
}

// replayCert is a certificate as `eventlog replay --json` shows it.
type replayCert struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

type replayDB struct {
	Certs  []replayCert `json:"certs"`
	Hashes int          `json:"hashes"`
}

type replayAuthority struct {
	Event    int         `json:"event"`
	Variable string      `json:"variable"`
	Cert     *replayCert `json:"cert,omitempty"`
}

type replaySecureBoot struct {
	// VerifiedBy is the bank whose matching PCRs proved the events, or ""
	// when no bank matched and the state is read from unverified events.
	VerifiedBy  string            `json:"verified_by"`
	Enabled     bool              `json:"enabled"`
	Measured    bool              `json:"measured"`
	DebugMode   bool              `json:"debug_mode"`
	Error       string            `json:"error,omitempty"`
	PK          *replayDB         `json:"pk,omitempty"`
	KEK         *replayDB         `json:"kek,omitempty"`
	DB          *replayDB         `json:"db,omitempty"`
	DBX         *replayDB         `json:"dbx,omitempty"`
	Authorities []replayAuthority `json:"authorities,omitempty"`
}

type replayOutput struct {
	Match      bool              `json:"match"`
	Banks      []replayBank      `json:"banks"`
	SecureBoot *replaySecureBoot `json:"secure_boot"`
}

func newEventlogReplayCmd(stdio IO) *cobra.Command {
	var pcrsPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay FILE --pcrs pcrs.json [--json]",
		Short: "Replay the log in every bank of pcrs.json and show the Secure Boot state",
		Long: `Replays the event log in every bank that pcrs.json gives and compares each
PCR: 'match' or the first PCR that differs, with the value wanted (pcrs.json)
and the value the log gives. A PCR without events whose value is not its
reset value is reported as unlogged (extended after boot, e.g. by IMA): the
log does not contradict it. Then prints the Secure Boot state from the PCR 7
events that a matching bank proves.

pcrs.json: {"sha256": {"0": "hex", ...}, "sha512": {...}}.
Exits 0 only when every bank matches, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pcrsPath == "" {
				return errors.New("eventlog replay: --pcrs is required")
			}
			l, err := readEventLog(args[0])
			if err != nil {
				return err
			}
			b, err := os.ReadFile(pcrsPath)
			if err != nil {
				return fmt.Errorf("read PCR values: %w", err)
			}
			want, err := eventlog.ParsePCRValues(b)
			if err != nil {
				return fmt.Errorf("%s: %w", pcrsPath, err)
			}
			if len(want) == 0 {
				return fmt.Errorf("%s: no banks", pcrsPath)
			}
			out := replay(l, want)
			if asJSON {
				if err := writeJSON(stdio.Out, out); err != nil {
					return err
				}
			} else {
				writeReplayText(stdio.Out, out)
			}
			if !out.Match {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pcrsPath, "pcrs", "", "PCR values to replay against (pcrs.json)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func replay(l *eventlog.Log, want eventlog.PCRValues) *replayOutput {
	out := &replayOutput{Match: true}
	var proven []eventlog.Event
	var provenBy eventlog.Alg
	for _, bank := range want.Banks() {
		rb := replayBank{Bank: bank.String()}
		res, err := l.ReplayAgainst(bank, want[bank])
		var re *eventlog.ReplayError
		if err != nil && !errors.As(err, &re) {
			rb.Error = err.Error()
			out.Match = false
			out.Banks = append(out.Banks, rb)
			continue
		}
		rb.Match = res.Match
		out.Match = out.Match && res.Match
		quoted := map[int][]byte{}
		for _, r := range res.PCRs {
			rb.PCRs = append(rb.PCRs, replayPCR{PCR: r.PCR, Status: r.Status, Events: r.Events, Want: hex.EncodeToString(r.Want), Got: hex.EncodeToString(r.Got)})
			if r.Status == eventlog.StatusMatch {
				quoted[r.PCR] = r.Want
			}
		}
		out.Banks = append(out.Banks, rb)
		// The strongest bank whose PCR 7 replays proves the Secure Boot events.
		if len(quoted[7]) > 0 && (proven == nil || bank.Size() > provenBy.Size()) {
			if ev, err := l.Verified(bank, quoted); err == nil {
				proven, provenBy = ev, bank
			}
		}
	}
	sb := &replaySecureBoot{}
	events := proven
	if proven != nil {
		sb.VerifiedBy = provenBy.String()
	} else {
		events = l.Events
	}
	state, err := uefi.SecureBootState(events)
	if err != nil {
		sb.Error = err.Error()
	} else {
		sb.Enabled, sb.Measured, sb.DebugMode = state.Enabled, state.Measured, state.DebugMode
		sb.PK, sb.KEK, sb.DB, sb.DBX = replayDBOf(state.PK), replayDBOf(state.KEK), replayDBOf(state.DB), replayDBOf(state.DBX())
		for _, a := range state.Authorities {
			ra := replayAuthority{Event: a.Event, Variable: a.Variable}
			if a.Cert != nil {
				a.Cert.ReadNames()
				ra.Cert = &replayCert{Subject: a.Cert.Subject, SHA256: hex.EncodeToString(a.Cert.SHA256[:])}
			}
			sb.Authorities = append(sb.Authorities, ra)
		}
	}
	out.SecureBoot = sb
	return out
}

func replayDBOf(db *uefi.SignatureDB) *replayDB {
	if db == nil {
		return nil
	}
	r := &replayDB{Certs: []replayCert{}, Hashes: len(db.Hashes) + len(db.Other)}
	for _, c := range db.Certs {
		c.ReadNames()
		r.Certs = append(r.Certs, replayCert{Subject: c.Subject, SHA256: hex.EncodeToString(c.SHA256[:])})
	}
	return r
}

func writeReplayText(w io.Writer, out *replayOutput) {
	for _, b := range out.Banks {
		switch {
		case b.Error != "":
			fmt.Fprintf(w, "%s: cannot replay: %s\n", b.Bank, b.Error)
			continue
		case b.Match:
			fmt.Fprintf(w, "%s: match (%d PCRs)\n", b.Bank, len(b.PCRs))
		default:
			for _, p := range b.PCRs {
				if p.Status == eventlog.StatusMismatch {
					fmt.Fprintf(w, "%s: mismatch at PCR %d (%d events)\n  want %s\n  got  %s\n", b.Bank, p.PCR, p.Events, p.Want, p.Got)
					break
				}
			}
		}
		for _, p := range b.PCRs {
			if p.Status == eventlog.StatusUnlogged {
				fmt.Fprintf(w, "  PCR %d: no events in the log, value %s (extended after boot?)\n", p.PCR, p.Want)
			}
		}
	}
	sb := out.SecureBoot
	proof := "unverified: no PCR 7 value given matches the log"
	if sb.VerifiedBy != "" {
		proof = "proven by " + sb.VerifiedBy + " PCR 7"
	}
	if sb.Error != "" {
		fmt.Fprintf(w, "Secure Boot: unknown (%s): %s\n", proof, sb.Error)
		return
	}
	state := map[bool]string{true: "on", false: "off"}[sb.Enabled]
	if !sb.Measured {
		state += " (SecureBoot variable not measured)"
	}
	fmt.Fprintf(w, "Secure Boot: %s (%s)\n", state, proof)
	if sb.DebugMode {
		fmt.Fprintln(w, "  UEFI Debug Mode: a debugger was attached during boot")
	}
	for _, v := range []struct {
		name string
		db   *replayDB
	}{{"PK", sb.PK}, {"KEK", sb.KEK}, {"db", sb.DB}, {"dbx", sb.DBX}} {
		if v.db == nil {
			fmt.Fprintf(w, "  %-4s not measured\n", v.name)
			continue
		}
		fmt.Fprintf(w, "  %-4s %d certificates, %d hashes\n", v.name, len(v.db.Certs), v.db.Hashes)
		for _, c := range v.db.Certs {
			fmt.Fprintf(w, "         %s  %s\n", c.SHA256[:16], c.Subject)
		}
	}
	for _, a := range sb.Authorities {
		who := "(no certificate)"
		if a.Cert != nil {
			who = a.Cert.SHA256[:16] + "  " + a.Cert.Subject
		}
		fmt.Fprintf(w, "  authority event %d from %s: %s\n", a.Event, a.Variable, who)
	}
}
