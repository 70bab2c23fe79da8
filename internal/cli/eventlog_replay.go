package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// Exit statuses of `eventlog replay`, as its help and docs/real-hosts.md
// give them.
const (
	replayExitMatch    = 0 // replayed, and the values prove the log as the verifier requires
	replayExitMismatch = 1 // a PCR differs, or the values fall short of the verifier's rules
	replayExitUnusable = 2 // the log or the values could not be read, or the command was misused
)

// replayPCR is one PCR of `eventlog replay --json`.
type replayPCR struct {
	PCR int `json:"pcr"`
	// Status is match, mismatch or unlogged (a value but no events in the
	// log; the verifier counts it as a mismatch unless the PCR is ignored).
	Status string `json:"status"`
	Events int    `json:"events"`
	Want   string `json:"want"`
	Got    string `json:"got"`
}

// replayBank is one bank of `eventlog replay --json`.
type replayBank struct {
	Bank string `json:"bank"`
	// Match is true when the bank's values prove the log under the
	// verifier's replay rule (eventlog.(*Log).Verify).
	Match bool `json:"match"`
	// Skipped says why a given bank was not replayed: the log lacks it.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	// NotGiven are the PCRs the verifier requires that have no value here.
	NotGiven []int       `json:"not_given,omitempty"`
	PCRs     []replayPCR `json:"pcrs,omitempty"`
}

// replayProblem is one reason `eventlog replay` exits 1, with the
// verifier's code for the same failure.
type replayProblem struct {
	Code    string `json:"code"`
	Bank    string `json:"bank,omitempty"`
	PCRs    []int  `json:"pcrs,omitempty"`
	Message string `json:"message"`
}

type replayOutput struct {
	// Match is true exactly when the command exits 0.
	Match       bool              `json:"match"`
	Problems    []replayProblem   `json:"problems,omitempty"`
	IgnoredPCRs []int             `json:"ignored_pcrs,omitempty"`
	Banks       []replayBank      `json:"banks"`
	SecureBoot  *replaySecureBoot `json:"secure_boot"`
}

func newEventlogReplayCmd(stdio IO) *cobra.Command {
	var (
		pcrsPath string
		ignore   []int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "replay FILE --pcrs pcrs.json [--ignore-pcrs 10,...] [--json]",
		Short: "Replay the log against PCR values under the verifier's rules and show the Secure Boot state",
		Long: `Replays the event log in every bank of pcrs.json and applies the verifier's
rules to the values given:
  - every bank the log declares must be given, and one of SHA-256 or better
    (SHA-1 alone proves nothing);
  - each bank must give PCR 0-7 and every PCR the log measures into;
  - each PCR given must equal the log's replay; a PCR with a value but no
    events that is not its reset value is a mismatch too (something extended
    it without logging here: IMA's PCR 10, for one). --ignore-pcrs drops
    such PCRs (8-23), as a policy's pcrs_ignore does.
Then prints the Secure Boot state: on or off only from the PCR 7 events the
strongest bank proved, with the bank(s) and the event that prove it; unknown,
with the reason, otherwise.

pcrs.json: {"sha256": {"0": "hex", ...}, "sha512": {...}}.
Exit status: 0 replayed and matched; 1 a mismatch or the values fall short
of the rules above; 2 the log or pcrs.json could not be read or parsed, or
a usage error.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := runReplay(args[0], pcrsPath, ignore)
			if err != nil {
				return &ExitError{Code: replayExitUnusable, Err: err}
			}
			if asJSON {
				if err := writeJSON(stdio.Out, out); err != nil {
					return err
				}
			} else {
				writeReplayText(stdio.Out, out)
			}
			if !out.Match {
				return &ExitError{Code: replayExitMismatch}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pcrsPath, "pcrs", "", "PCR values to replay against (pcrs.json)")
	cmd.Flags().IntSliceVar(&ignore, "ignore-pcrs", nil, "PCRs (8-23) extended outside this log, as a policy's pcrs_ignore")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: replayExitUnusable, Err: err}
	})
	return cmd
}

// usageArgs makes an argument error exit with the usage status.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &ExitError{Code: replayExitUnusable, Err: err}
		}
		return nil
	}
}

// runReplay reads the inputs and replays; its error means nothing could be
// replayed (exit 2).
func runReplay(logPath, pcrsPath string, ignore []int) (*replayOutput, error) {
	if pcrsPath == "" {
		return nil, errors.New("eventlog replay: --pcrs is required")
	}
	// The verifier's own check of pcrs_ignore (8-23, no duplicates).
	p := policy.Default()
	p.PCRsIgnore = ignore
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("eventlog replay: --ignore-pcrs: %w", err)
	}
	l, err := readEventLog(logPath)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(pcrsPath)
	if err != nil {
		return nil, fmt.Errorf("read PCR values: %w", err)
	}
	want, err := eventlog.ParsePCRValues(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pcrsPath, err)
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("%s: no banks", pcrsPath)
	}
	return replay(l, want, p), nil
}

// replayRun is one replay: the inputs and what the banks proved so far.
type replayRun struct {
	log  *eventlog.Log
	want eventlog.PCRValues
	pol  *policy.Policy // only its ignored PCRs are used
	out  *replayOutput

	decision    eventlog.Alg // the bank whose events decisions read
	hasDecision bool
	replayed    []eventlog.Alg // banks whose values prove the log
	verified    []eventlog.Event
	proven      bool // the decision bank replayed
}

// replay applies the verifier's bank, coverage and replay rules to the
// values given and derives the Secure Boot state from what they prove.
func replay(l *eventlog.Log, want eventlog.PCRValues, p *policy.Policy) *replayOutput {
	r := &replayRun{log: l, want: want, pol: p, out: &replayOutput{IgnoredPCRs: p.PCRsIgnore}}
	given := func(b eventlog.Alg) bool { return len(want[b]) > 0 }
	for _, bank := range appraisal.MissingBanks(l.Banks, given) {
		r.problem(replayProblem{Code: appraisal.CodeQuoteMissingBank, Bank: bank.String(),
			Message: fmt.Sprintf("the log declares the %s bank but no %s values were given: every bank the log declares must be (no bank downgrade)", bank, bank)})
	}
	r.decision, r.hasDecision = appraisal.DecisionBank(l.Banks, given)
	if !r.hasDecision {
		r.problem(replayProblem{Code: appraisal.CodeQuoteMissingBank,
			Message: "no bank of SHA-256 or better is both given and in the log: SHA-1 alone cannot prove a boot"})
	}
	need := appraisal.RequiredPCRs(l, p.Ignored)
	for _, bank := range want.Banks() {
		r.out.Banks = append(r.out.Banks, r.replayBank(bank, need))
	}
	r.out.SecureBoot = r.secureBoot()
	r.out.Match = len(r.out.Problems) == 0
	return r.out
}

func (r *replayRun) problem(p replayProblem) { r.out.Problems = append(r.out.Problems, p) }

// values are the given values of one bank less the ignored PCRs, as the
// verifier replays a quote.
func (r *replayRun) values(bank eventlog.Alg) map[int][]byte {
	out := make(map[int][]byte, len(r.want[bank]))
	for pcr, v := range r.want[bank] {
		if !r.pol.Ignored(pcr) {
			out[pcr] = v
		}
	}
	return out
}

// replayBank replays one given bank: the per-PCR comparison for the
// reader, the verifier's rule for the verdict.
func (r *replayRun) replayBank(bank eventlog.Alg, need []int) replayBank {
	rb := replayBank{Bank: bank.String()}
	if !slices.Contains(r.log.Banks, bank) {
		rb.Skipped = fmt.Sprintf("the log has no %s bank (it has %v): values of a bank the log lacks prove nothing", bank, bankNames(r.log.Banks))
		return rb
	}
	vals := r.values(bank)
	for _, pcr := range need {
		if _, ok := vals[pcr]; !ok {
			rb.NotGiven = append(rb.NotGiven, pcr)
		}
	}
	if len(rb.NotGiven) > 0 {
		r.problem(replayProblem{Code: appraisal.CodeQuotePCRSelection, Bank: rb.Bank, PCRs: rb.NotGiven,
			Message: fmt.Sprintf("no %s value for PCR %s: the verifier requires PCR 0-7 and every PCR the log measures into", bank, pcrList(rb.NotGiven))})
	}
	res, err := r.log.ReplayAgainst(bank, vals)
	var re *eventlog.ReplayError
	if err != nil && !errors.As(err, &re) {
		rb.Error = err.Error()
		r.problem(replayProblem{Code: appraisal.CodeEventLogReplay, Bank: rb.Bank, Message: fmt.Sprintf("cannot replay in %s: %v", bank, err)})
		return rb
	}
	for _, p := range res.PCRs {
		rb.PCRs = append(rb.PCRs, replayPCR{PCR: p.PCR, Status: p.Status, Events: p.Events, Want: hex.EncodeToString(p.Want), Got: hex.EncodeToString(p.Got)})
	}
	if err := r.verify(bank, vals); err != nil {
		r.problem(r.replayFailure(bank, err))
		return rb
	}
	rb.Match = true
	r.replayed = append(r.replayed, bank)
	return rb
}

// verify applies the verifier's replay rule to one bank and keeps the
// events the decision bank proves.
func (r *replayRun) verify(bank eventlog.Alg, vals map[int][]byte) error {
	if !r.hasDecision || bank != r.decision {
		return r.log.Verify(bank, vals)
	}
	ev, err := r.log.Verified(bank, vals)
	if err == nil {
		r.verified, r.proven = ev, true
	}
	return err
}

// replayFailure names a bank whose values do not prove the log, in the
// verifier's words.
func (r *replayRun) replayFailure(bank eventlog.Alg, err error) replayProblem {
	var re *eventlog.ReplayError
	if !errors.As(err, &re) {
		return replayProblem{Code: appraisal.CodeEventLogReplay, Bank: bank.String(), Message: fmt.Sprintf("the %s values do not prove the log: %v", bank, err)}
	}
	p := replayProblem{Code: appraisal.CodeEventLogReplay, Bank: bank.String(), PCRs: []int{re.PCR},
		Message: fmt.Sprintf("%s PCR %d: the log's events replay to %x, the value given is %x: the log was altered or is incomplete", bank, re.PCR, re.Got, re.Want)}
	if !slices.ContainsFunc(r.log.Events, func(e eventlog.Event) bool { return e.PCR == re.PCR && e.Type != eventlog.EvNoAction }) {
		p.Message = fmt.Sprintf("%s PCR %d holds %x but the log has no events for it: something extended it without logging here (if that is expected, --ignore-pcrs %d)", bank, re.PCR, re.Want, re.PCR)
	}
	return p
}

// pcrList spells PCR indices for a message ("8, 9").
func pcrList(pcrs []int) string {
	s := ""
	for i, p := range pcrs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(p)
	}
	return s
}
