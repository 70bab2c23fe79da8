package appraisal

import (
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/bootproof/bootproof/internal/wire"
)

// alwaysQuoted are the PCRs every quote must cover, whatever the log says:
// firmware, its configuration, option ROMs, boot manager code and
// configuration, GPT, and Secure Boot policy (TCG PC Client PFP §3.3.4).
const alwaysQuoted = 8 // PCR 0-7

// appraisal holds the state of one Appraise call.
type appraisal struct {
	in Input
	v  *Verdict
	// replayed are the banks whose quote the log replayed to.
	replayed []eventlog.Alg
	// sb is the proven Secure Boot state, nil when it could not be read.
	sb *uefi.SecureBoot
	// rules are what the policy's rules decided before the references.
	rules ruleState
	// quotesOnly: only whether the quotes hold is wanted (QuotesHold), not
	// a verdict to show, so the PCR values are not written into it.
	quotesOnly bool
}

// fail records a failed check.
func (a *appraisal) fail(c Check) {
	c.Passed = false
	a.v.Checks = append(a.v.Checks, c)
	a.v.Status = Failed
}

// pass records a passed check unless the code already failed.
func (a *appraisal) pass(code, msg string) {
	for _, c := range a.v.Checks {
		if c.Code == code && !c.Passed {
			return
		}
	}
	a.v.Checks = append(a.v.Checks, Check{Code: code, Passed: true, Message: msg})
}

// Appraise judges one host's evidence. The checklist, in order:
//
//  1. a TPM 2.0: a host enrolled with another family is N/A
//     (tpm.not_tpm20); a host enrolled with a TPM 2.0 whose evidence claims
//     any other family is Failed (tpm.family_mismatch), never N/A;
//  2. each quote: a TPMS_ATTEST of type quote, signed by the enrolled AK,
//     over the issued nonce, whose pcrDigest is the digest of the PCR values
//     sent; a quote may cover several banks (the agent sends one over all),
//     and no bank may be quoted twice;
//  3. the quotes' TPM clock is not older than Last;
//  4. every bank the log declares is quoted, and a bank of SHA-256 or
//     better is among them (no bank downgrade);
//  5. each quote covers PCR 0-7 and every PCR the log has events for,
//     except the policy's ignored PCRs (go-attestation CVE-2022-0317);
//  6. the log replays to the quoted PCRs in every quoted bank, each bank on
//     its own;
//  7. from the events the strongest bank proved: Secure Boot on and its
//     variables as the policy wants; firmware, boot loader, kernel, boot
//     options and modules among the reference values, and present for
//     every class the policy has reference values for;
//  8. the bundles: signed to a trusted root, at the minimum acceptance,
//     covering every measured module, with every payload measured.
//
// A failed check makes the verdict Failed; later checks still run as far as
// what they need was proven, so the report shows every reason.
func Appraise(in Input) (*Verdict, error) {
	if in.Evidence == nil {
		return nil, errors.New("appraise: no evidence")
	}
	if in.Policy == nil {
		return nil, errors.New("appraise: no policy")
	}
	if err := in.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("appraise: invalid policy: %w", err)
	}
	if in.Now.IsZero() {
		return nil, errors.New("appraise: no time given (Input.Now)")
	}
	// Room for every check a passing host records, so appending never grows.
	a := &appraisal{in: in, v: &Verdict{Status: Passed, Checks: make([]Check, 0, 24)}}
	if na := notTPM20(in.EnrolledFamily); na != nil {
		return na, nil
	}
	if in.Evidence.TPMFamily != wire.FamilyTPM20 {
		a.fail(familyMismatch(in.Evidence.TPMFamily))
		return a.v, nil
	}
	quotes, err := a.quotesOrUnquoted()
	if err != nil {
		return nil, err
	}
	if len(quotes) == 0 {
		if len(a.v.Checks) == 0 {
			a.fail(Check{Code: CodeQuoteMissingBank, Message: "The host sent no quote."})
		}
		return a.v, nil
	}
	log, err := eventlog.Parse(in.Evidence.EventLog)
	if err != nil {
		c := Check{Code: CodeEventLogParse, Message: fmt.Sprintf("The event log cannot be read: %v.", err)}
		var pe *eventlog.ParseError
		if errors.As(err, &pe) {
			c.EventIndex = intp(pe.Index)
		}
		a.fail(c)
		return a.v, nil
	}
	a.pass(CodeEventLogParse, fmt.Sprintf("The event log was read: %d events, format %s.", len(log.Events), log.Format))

	best := a.checkBanks(log, quotes)
	a.checkSelection(log, quotes)
	verified, ok := a.replay(log, quotes, best)
	if !ok {
		// Nothing the decisions need was proven.
		return a.v, nil
	}
	a.v.Bank = best.bank.String()
	a.checkSecureBoot(verified)
	proven := a.provenIn(log, quotes)
	lying := a.checkDataDigests(log, proven)
	a.v.Components = extractComponents(verified, proven, lying, a.authorities())
	a.listNotJudged(verified, proven, lying)
	a.describeShim(verified, proven, lying)
	a.checkSbatLevel()
	a.checkDenied()
	a.checkCmdline(verified)
	a.checkReferences()
	a.checkPerHost()
	a.checkBundles()
	a.checkTrustLevel()
	return a.v, nil
}

// checkQuotes verifies every quote and the clock, and returns what the
// quotes that hold prove, by bank. A bank quoted twice is refused: which
// of two values would be the TPM's?
func (a *appraisal) checkQuotes(ak crypto.PublicKey) map[eventlog.Alg]*bankQuote {
	out := map[eventlog.Alg]*bankQuote{}
	var first *ClockInfo
	for _, wq := range a.in.Evidence.Quotes {
		banks, c := checkQuote(wq, ak, a.in.Nonce)
		if c != nil {
			a.fail(*c)
			continue
		}
		label := quoteBanks(banks)
		if slices.ContainsFunc(banks, func(q *bankQuote) bool { return out[q.bank] != nil }) {
			a.fail(Check{Code: CodeQuotePCRSelection, Bank: label, Message: fmt.Sprintf("The host sent two quotes over the same bank (%s).", label)})
			continue
		}
		clock := banks[0].clock
		if c := checkClock(label, clock, a.in.Last); c != nil {
			a.fail(*c)
			continue
		}
		if first != nil && (first.ResetCount != clock.ResetCount || first.RestartCount != clock.RestartCount) {
			a.fail(Check{Code: CodeQuoteReset, Bank: label,
				Message:  fmt.Sprintf("The %s quote comes from another TPM boot than the other quotes.", label),
				Expected: []string{fmt.Sprintf("reset_count %d, restart_count %d", first.ResetCount, first.RestartCount)},
				Found:    fmt.Sprintf("reset_count %d, restart_count %d", clock.ResetCount, clock.RestartCount)})
			continue
		}
		if first == nil || clock.Clock > first.Clock {
			c := clock
			first = &c
		}
		for _, q := range banks {
			out[q.bank] = q
			if !a.quotesOnly {
				a.showPCRs(q)
			}
		}
	}
	if len(out) > 0 {
		a.v.Clock = first
		a.pass(CodeQuoteSignature, "Every quote is signed by the host's enrolled AK.")
		a.pass(CodeQuoteNonce, "Every quote carries the nonce the verifier issued.")
		a.pass(CodeQuotePCRDigest, "The PCR values sent are the values the TPM quoted.")
		if a.in.Last == nil {
			a.pass(CodeQuoteClock, "These are the first quotes accepted from this TPM, so there is no earlier clock to compare.")
		} else {
			a.pass(CodeQuoteClock, "The quotes are newer than the last one accepted.")
		}
		a.pass(CodeQuoteReset, "The TPM reset and restart counts did not go back.")
	}
	return out
}

// showPCRs puts a proven bank's PCR values in the verdict, for the report.
func (a *appraisal) showPCRs(q *bankQuote) {
	if a.v.PCRs == nil {
		a.v.PCRs = map[string]map[int]string{}
	}
	// One hex string for the bank, each PCR a substring of it: one
	// allocation instead of one per PCR.
	size := q.bank.Size()
	raw := make([]byte, 0, len(q.pcrs)*size)
	order := make([]int, 0, len(q.pcrs))
	for pcr, val := range q.pcrs {
		raw = append(raw, val...)
		order = append(order, pcr)
	}
	all := hex.EncodeToString(raw)
	m := make(map[int]string, len(q.pcrs))
	for i, pcr := range order {
		m[pcr] = all[2*i*size : 2*(i+1)*size]
	}
	a.v.PCRs[q.bank.String()] = m
}

// quoteBanks names the banks of one quote ("sha1+sha256").
func quoteBanks(qs []*bankQuote) string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.bank.String()
	}
	return strings.Join(names, "+")
}

// checkBanks requires a quote for every bank the log declares and returns
// the strongest quoted bank of SHA-256 or better that the log also has.
func (a *appraisal) checkBanks(log *eventlog.Log, quotes map[eventlog.Alg]*bankQuote) *bankQuote {
	quoted := func(b eventlog.Alg) bool { return quotes[b] != nil }
	for _, bank := range MissingBanks(log.Banks, quoted) {
		a.fail(Check{Code: CodeQuoteMissingBank, Bank: bank.String(),
			Message: fmt.Sprintf("The event log declares the %s bank but no valid %s quote was sent.", bank, bank)})
	}
	bank, ok := DecisionBank(log.Banks, quoted)
	if !ok {
		a.fail(Check{Code: CodeQuoteMissingBank,
			Message: "No bank of SHA-256 or better is both quoted and in the event log; SHA-1 alone cannot prove a boot."})
		return nil
	}
	best := quotes[bank]
	a.pass(CodeQuoteMissingBank, fmt.Sprintf("Every bank the event log declares is quoted; decisions use %s.", best.bank))
	return best
}

// checkSelection fails every quote that leaves out a PCR the appraisal
// relies on, so that no unquoted PCR's events are read as proven.
func (a *appraisal) checkSelection(log *eventlog.Log, quotes map[eventlog.Alg]*bankQuote) {
	need := RequiredPCRs(log, a.in.Policy.Ignored)
	ok := true
	for _, bank := range eventlog.Algs {
		q := quotes[bank]
		if q == nil || !slices.Contains(log.Banks, bank) {
			continue // a bank the log lacks feeds no decision
		}
		for _, pcr := range need {
			if _, covered := q.pcrs[pcr]; !covered {
				ok = false
				a.fail(Check{Code: CodeQuotePCRSelection, Bank: bank.String(), PCR: intp(pcr),
					Message: fmt.Sprintf("The %s quote does not cover PCR %d, which the event log measures into or the policy relies on.", bank, pcr)})
			}
		}
	}
	if ok {
		a.pass(CodeQuotePCRSelection, "The quotes cover PCR 0-7 and every PCR the event log measures into.")
	}
}

// quotedForReplay returns a quote's PCRs less the ignored ones.
func (a *appraisal) quotedForReplay(q *bankQuote) map[int][]byte {
	out := make(map[int][]byte, len(q.pcrs))
	for pcr, v := range q.pcrs {
		if !a.in.Policy.Ignored(pcr) {
			out[pcr] = v
		}
	}
	return out
}

// replay verifies the log in every quoted bank the log has, each bank on
// its own, and returns the events the best bank proves; proven is false when
// there is no best bank or its replay failed.
func (a *appraisal) replay(log *eventlog.Log, quotes map[eventlog.Alg]*bankQuote, best *bankQuote) (verified []eventlog.Event, proven bool) {
	ok := true
	for _, bank := range eventlog.Algs {
		q := quotes[bank]
		if q == nil || !slices.Contains(log.Banks, bank) {
			continue
		}
		// Every bank must replay on its own; only the best bank's events
		// are read, so only they are collected.
		var err error
		if q == best {
			verified, err = log.Verified(bank, a.quotedForReplay(q))
		} else {
			err = log.Verify(bank, a.quotedForReplay(q))
		}
		if err != nil {
			ok = false
			a.failReplay(log, bank, err)
			continue
		}
		a.replayed = append(a.replayed, bank)
		if q == best {
			proven = true
		}
	}
	if ok && len(quotes) > 0 {
		a.pass(CodeEventLogReplay, "The event log replays to the quoted PCRs in every quoted bank.")
	}
	return verified, proven
}

func (a *appraisal) failReplay(log *eventlog.Log, bank eventlog.Alg, err error) {
	var re *eventlog.ReplayError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("The event log's %s events for PCR %d do not replay to the quoted value: the log was altered or is incomplete.", bank, re.PCR)
		if !slices.ContainsFunc(log.Events, func(e eventlog.Event) bool { return e.PCR == re.PCR && e.Type != eventlog.EvNoAction }) {
			msg = fmt.Sprintf("PCR %d holds a value in %s but the event log has no events for it: something extended it without logging (if that is expected, the policy can ignore it with pcrs_ignore).", re.PCR, bank)
		}
		a.fail(Check{Code: CodeEventLogReplay, Bank: bank.String(), PCR: intp(re.PCR),
			Message:  msg,
			Expected: []string{hex.EncodeToString(re.Want)}, Found: hex.EncodeToString(re.Got)})
		return
	}
	a.fail(Check{Code: CodeEventLogReplay, Bank: bank.String(),
		Message: fmt.Sprintf("The event log cannot be replayed in %s: %v.", bank, err)})
}

// provenIn returns, for each event index, the banks whose quote proves it
// (the quote covers its PCR and the log replayed to it), so components
// carry a digest only in banks that proved it.
func (a *appraisal) provenIn(log *eventlog.Log, quotes map[eventlog.Alg]*bankQuote) func(idx int) []eventlog.Alg {
	var proven [eventlog.NumPCRs][]eventlog.Alg
	for _, bank := range a.replayed {
		q := quotes[bank]
		for pcr := range q.pcrs {
			if !a.in.Policy.Ignored(pcr) {
				proven[pcr] = append(proven[pcr], bank)
			}
		}
	}
	return func(idx int) []eventlog.Alg {
		if idx < 0 || idx >= len(log.Events) {
			return nil
		}
		if pcr := log.Events[idx].PCR; pcr >= 0 && pcr < eventlog.NumPCRs {
			return proven[pcr]
		}
		return nil
	}
}
