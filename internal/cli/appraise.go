package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/verifier"
)

// Exit statuses of `bootproof appraise`.
const (
	exitAppraisePassed = 0
	exitAppraiseFailed = 1
	exitCannotAppraise = 2
)

func newAppraiseCmd(stdio IO) *cobra.Command {
	var policyFile string
	var asJSON, learn bool
	cmd := &cobra.Command{
		Use:   "appraise DIR [--policy FILE] [--json | --learn]",
		Short: "Judge evidence files offline with the verifier's own appraisal",
		Long: `Runs the verifier's own appraisal (the one its Submit records) on the
evidence files in DIR, as ` + "`hosts evidence NAME --out DIR`" + ` or
` + "`evidence --profile P --out DIR`" + ` write them: eventlog.bin, pcrs.json,
bundles/*.bundle, and when present nonce.bin, ak.pub and quote-N.attest with
quote-N.sig. It prints the verdict: status, the headline reason, then every
check with its code and evidence. --json prints it as GET
/api/v1/hosts/{name}/verdict does, with the headline the verifier records
beside it (reason_code and reason, as GET /api/v1/hosts/{name} shows them).
Without --policy the default policy is used.

Without a quote the PCR values in pcrs.json are taken on trust, for replay
only: everything else is judged as the verifier would, and the quote checks
are listed as "not checked: no quote" (JSON: not_checked). The status is then
what the verifier would record had a TPM quoted those values, and the human
output says "unquoted" beside it: a Passed on unquoted PCRs shows the boot
meets the policy, not that a TPM vouched for it.

The verifier's clock check compares with the host's last quote; offline
there is none, so a replayed old quote is not caught here.

--learn prints, as policy YAML, what ` + "`policy learn`" + ` would take from this boot
(the --policy file, or the default, with the boot's reference values added),
or, with exit status 2, why it would refuse this boot (learn.not_a_reference:
a failure other than reference values, or Secure Boot off or unknown).

Exit status: 0 Passed, 1 Failed, 2 could not appraise (unreadable files, an
invalid policy, or a host without a TPM 2.0: N/A).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := appraisePolicy(policyFile)
			if err != nil {
				return &ExitError{Code: exitCannotAppraise, Err: err}
			}
			d, err := readEvidenceDir(args[0])
			if err != nil {
				return &ExitError{Code: exitCannotAppraise, Err: fmt.Errorf("appraise: %w", err)}
			}
			j := judgeDir(d, p)
			if learn {
				return printLearned(stdio.Out, j.Verdict, p, args[0])
			}
			if asJSON {
				err = writeJSONTo(stdio.Out, appraisedJSON(d.Host, j))
			} else {
				err = printJudgement(stdio.Out, d.Host, j)
			}
			if err != nil {
				return err
			}
			return appraiseExit(j.Verdict.Status)
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyFile, "policy", "", "policy YAML file (default: the default policy)")
	f.BoolVar(&asJSON, "json", false, "print the verdict as the API's GET /api/v1/hosts/{name}/verdict, with the headline reason_code and reason")
	f.BoolVar(&learn, "learn", false, "print the policy `policy learn` would make from this boot")
	cmd.MarkFlagsMutuallyExclusive("json", "learn")
	return cmd
}

// appraisePolicy reads and validates the policy file, or gives the default.
func appraisePolicy(file string) (*policy.Policy, error) {
	if file == "" {
		return policy.Default(), nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("appraise: %w", err)
	}
	p, err := policy.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("appraise: %s: %w", file, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("appraise: %s: %w", file, err)
	}
	return p, nil
}

// judgeDir appraises the directory's evidence through the verifier's own
// path. The family the files claim stands in for the enrolled one.
func judgeDir(d *evidenceDir, p *policy.Policy) verifier.Judgement {
	in := appraisal.Input{Evidence: d.Evidence, EnrolledFamily: d.Evidence.TPMFamily, AKPublic: d.AKPublic,
		Nonce: d.Evidence.Nonce, Policy: p, Now: time.Now()}
	if len(d.Evidence.Quotes) == 0 {
		in.UnquotedPCRs = d.PCRs
	}
	return verifier.Judge(in)
}

func appraiseExit(s appraisal.Status) error {
	switch s {
	case appraisal.Passed:
		return nil
	case appraisal.Failed:
		return &ExitError{Code: exitAppraiseFailed}
	}
	return &ExitError{Code: exitCannotAppraise}
}

// appraisedJSON is --json's output: the verdict with the headline Judge
// picked, the one the verifier records beside it.
func appraisedJSON(host string, j verifier.Judgement) api.AppraisedVerdict {
	return api.AppraisedVerdict{HostVerdict: api.HostVerdict{At: time.Now().UTC(), Host: host, Verdict: j.Verdict},
		ReasonCode: j.ReasonCode, Reason: j.Reason}
}

// printLearned prints the learned policy, or says why the boot teaches
// nothing (exit 2).
func printLearned(w io.Writer, vd *appraisal.Verdict, base *policy.Policy, dir string) error {
	learned, err := verifier.Learn(vd, base, "the evidence in "+dir)
	if err != nil {
		return &ExitError{Code: exitCannotAppraise, Err: fmt.Errorf("appraise --learn: %w", err)}
	}
	y, err := learned.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJudgement prints what an operator reads first: the status, the
// headline reason, then every check with its evidence.
func printJudgement(w io.Writer, host string, j verifier.Judgement) error {
	var b strings.Builder
	status := string(j.Verdict.Status)
	if len(j.Verdict.NotChecked) > 0 {
		status += " (unquoted: no TPM quote vouches for the PCR values; they were taken from pcrs.json for replay only)"
	}
	fmt.Fprintf(&b, "host %s: %s\n", host, status)
	if j.ReasonCode != "" {
		fmt.Fprintf(&b, "reason: %s: %s\n", j.ReasonCode, j.Reason)
	}
	b.WriteString("checks:\n")
	for _, c := range j.Verdict.Checks {
		mark := "FAIL"
		if c.Passed {
			mark = "ok  "
		}
		writeCheck(&b, mark, c)
	}
	for _, c := range j.Verdict.NotChecked {
		writeCheck(&b, "--  ", c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCheck writes one check and, for a failed one, its evidence.
func writeCheck(b *strings.Builder, mark string, c appraisal.Check) {
	fmt.Fprintf(b, "  %s %s: %s\n", mark, c.Code, c.Message)
	var where []string
	if c.Bank != "" {
		where = append(where, "bank "+c.Bank)
	}
	if c.PCR != nil {
		where = append(where, fmt.Sprintf("PCR %d", *c.PCR))
	}
	if c.EventIndex != nil {
		where = append(where, fmt.Sprintf("event %d", *c.EventIndex))
	}
	if c.Component != "" {
		where = append(where, "component "+c.Component)
	}
	if len(where) > 0 {
		fmt.Fprintf(b, "       %s\n", strings.Join(where, ", "))
	}
	for _, e := range c.Expected {
		fmt.Fprintf(b, "       expected: %s\n", e)
	}
	if c.Found != "" {
		fmt.Fprintf(b, "       found:    %s\n", c.Found)
	}
}
