package appraisal

import (
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// quoteChecks are the checks only a quote can pass: without one they are
// not made.
var quoteChecks = []string{CodeQuoteSignature, CodeQuoteNonce, CodeQuotePCRDigest, CodeQuoteClock, CodeQuoteReset}

// notQuoted is why the quote checks of an unquoted appraisal were not made.
const notQuoted = "Not checked: no quote. The PCR values were taken from the evidence files on trust, for replay only; no TPM vouched for them."

// quotesOrUnquoted returns the quoted banks: the quotes' when the evidence
// has any (checked with the enrolled AK), else Input.UnquotedPCRs' taken on
// trust, so that everything after the quote checks (banks, selection,
// replay, Secure Boot, references, bundles) runs as it does for a quote.
func (a *appraisal) quotesOrUnquoted() (map[eventlog.Alg]*bankQuote, error) {
	if len(a.in.Evidence.Quotes) == 0 && a.in.UnquotedPCRs != nil {
		return a.unquoted(), nil
	}
	if len(a.in.Nonce) == 0 {
		return nil, errors.New("appraise: no issued nonce")
	}
	ak, err := akKey(a.in.AKPublic)
	if err != nil {
		return nil, fmt.Errorf("appraise: %w", err)
	}
	return a.checkQuotes(ak), nil
}

// unquoted takes every bank of Input.UnquotedPCRs as if a quote had
// selected exactly its PCRs, and lists the quote checks as not checked.
func (a *appraisal) unquoted() map[eventlog.Alg]*bankQuote {
	out := map[eventlog.Alg]*bankQuote{}
	for bank, vals := range a.in.UnquotedPCRs {
		if _, ok := bank.Hash(); !ok || len(vals) == 0 {
			continue
		}
		q := &bankQuote{bank: bank, pcrs: make(map[int][]byte, len(vals))}
		for pcr, v := range vals {
			// A value of another size is left out (its PCR then reads as
			// not covered) rather than misread.
			if len(v) == bank.Size() && pcr >= 0 && pcr < eventlog.NumPCRs {
				q.pcrs[pcr] = v
			}
		}
		out[bank] = q
		a.showPCRs(q)
	}
	for _, code := range quoteChecks {
		a.v.NotChecked = append(a.v.NotChecked, Check{Code: code, Message: notQuoted})
	}
	return out
}
