package appraisal

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/quote"
	"github.com/bootproof/bootproof/internal/wire"
)

// bankQuote is one bank of a quote whose signature, nonce, selection and
// PCR digest held: its PCR values are what the TPM had.
type bankQuote struct {
	bank  eventlog.Alg
	pcrs  map[int][]byte // exactly the selected PCRs
	clock ClockInfo
}

// ParseAttest reads a TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) as a TPM
// signs it. It checks the structure only: that the TPM made it (magic
// TPM_GENERATED_VALUE) and that it is a quote. It proves nothing until its
// signature is checked.
func ParseAttest(b []byte) (*quote.Attest, error) {
	if len(b) == 0 {
		return nil, errors.New("parse TPMS_ATTEST: empty")
	}
	att, err := quote.ParseAttest(b)
	if err != nil {
		return nil, fmt.Errorf("parse %w", err)
	}
	return att, nil
}

// akKey reads the enrolled AK's TPMT_PUBLIC into a Go public key.
func akKey(b []byte) (crypto.PublicKey, error) {
	pub, err := quote.ParsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("parse enrolled AK: %w", err)
	}
	// Only a restricted signing key proves a quote: the TPM refuses to sign
	// outside data that starts with TPM_GENERATED_VALUE with it (TPM 2.0
	// Part 1 §29.2.1), while an unrestricted key signs any digest, so a host
	// could forge a TPMS_ATTEST. Enrolment checks this too.
	if !pub.Restricted() || !pub.SignEncrypt() || pub.Decrypt() || !pub.FixedTPM() {
		return nil, errors.New("enrolled AK is not a restricted, fixedTPM signing key")
	}
	return pub.Key, nil
}

// verifySignature checks a TPMT_SIGNATURE over attest by the AK and returns
// the hash of the signing scheme, which is also the hash of the quote's
// pcrDigest (TPM 2.0 Part 3 §18.4). SHA-1 signatures are refused: a quote
// signature over SHA-1 can be forged by collision.
func verifySignature(ak crypto.PublicKey, attest, sigBytes []byte) (crypto.Hash, error) {
	sig, err := quote.ParseSignature(sigBytes)
	if err != nil {
		return 0, fmt.Errorf("parse %w", err)
	}
	return quote.VerifySignature(ak, attest, sig)
}

// selectedPCRs lists the PCRs a selection covers, in the order the TPM
// concatenates them for the pcrDigest (TPM 2.0 Part 1 §17.5: selections in
// order, PCRs ascending within each).
func selectedPCRs(sel quote.PCRSelection) ([]int, error) {
	var pcrs []int
	for i, b := range sel.Select {
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) == 0 {
				continue
			}
			pcr := 8*i + bit
			if pcr >= eventlog.NumPCRs {
				return nil, fmt.Errorf("PCR %d is selected; a PC Client TPM has PCR 0-23", pcr)
			}
			pcrs = append(pcrs, pcr)
		}
	}
	return pcrs, nil
}

// checkQuote verifies one quote and splits it into its banks: a TPM2_Quote
// may select PCRs of several banks, and its pcrDigest covers them all in the
// selection's order. On failure it returns the failed check and no quote:
// nothing of a failed quote is used.
func checkQuote(q wire.Quote, ak crypto.PublicKey, nonce []byte) ([]*bankQuote, *Check) {
	var label string // the banks the quote selects, once it is read
	fail := func(code, format string, a ...any) ([]*bankQuote, *Check) {
		return nil, &Check{Code: code, Bank: label, Message: fmt.Sprintf(format, a...)}
	}
	att, err := ParseAttest(q.Attest)
	if err != nil {
		return fail(CodeQuoteSignature, "A quote is not a TPM quote: %v.", err)
	}
	label = quoteLabel(att.PCRSelections)
	h, err := verifySignature(ak, q.Attest, q.Signature)
	if err != nil {
		return fail(CodeQuoteSignature, "The %s quote is not signed by this host's enrolled AK: %v.", label, err)
	}
	if !bytes.Equal(att.ExtraData, nonce) {
		_, c := fail(CodeQuoteNonce, "The %s quote does not carry the nonce the verifier issued.", label)
		c.Expected, c.Found = []string{hex.EncodeToString(nonce)}, hex.EncodeToString(att.ExtraData)
		return nil, c
	}
	clock := ClockInfo{Clock: att.Clock, ResetCount: att.ResetCount, RestartCount: att.RestartCount, Safe: att.Safe}
	hh := h.New()
	var out []*bankQuote
	for _, sel := range att.PCRSelections {
		pcrs, err := selectedPCRs(sel)
		if err != nil {
			return fail(CodeQuotePCRSelection, "The %s quote's PCR selection is invalid: %v.", label, err)
		}
		if len(pcrs) == 0 {
			continue // an empty selection adds nothing to the digest
		}
		bank := eventlog.Alg(sel.Hash)
		if _, ok := bank.Hash(); !ok {
			return fail(CodeQuotePCRSelection, "The %s quote selects PCRs of bank %v, which the verifier cannot check.", label, bank)
		}
		if slices.ContainsFunc(out, func(o *bankQuote) bool { return o.bank == bank }) {
			return fail(CodeQuotePCRSelection, "The %s quote selects bank %v twice.", label, bank)
		}
		sent := q.PCRs[bank.String()]
		bq := &bankQuote{bank: bank, pcrs: make(map[int][]byte, len(pcrs)), clock: clock}
		for _, pcr := range pcrs {
			v, ok := sent[pcr]
			if !ok {
				_, c := fail(CodeQuotePCRDigest, "The %s quote covers %v PCR %d but its value was not sent.", label, bank, pcr)
				c.PCR = intp(pcr)
				return nil, c
			}
			if len(v) != bank.Size() {
				_, c := fail(CodeQuotePCRDigest, "The %v value sent for PCR %d has %d bytes, want %d.", bank, pcr, len(v), bank.Size())
				c.PCR = intp(pcr)
				return nil, c
			}
			hh.Write(v)
			bq.pcrs[pcr] = v
		}
		out = append(out, bq)
	}
	if len(out) == 0 {
		return fail(CodeQuotePCRSelection, "The %s quote covers no PCR.", label)
	}
	if got := hh.Sum(nil); !bytes.Equal(got, att.PCRDigest) {
		_, c := fail(CodeQuotePCRDigest, "The %s PCR values sent are not the values the TPM quoted.", label)
		c.Expected, c.Found = []string{hex.EncodeToString(att.PCRDigest)}, hex.EncodeToString(got)
		return nil, c
	}
	return out, nil
}

// quoteLabel names a quote by the banks it selects ("sha1+sha256"), for
// messages and the check's bank.
func quoteLabel(sels []quote.PCRSelection) string {
	var names []string
	for _, s := range sels {
		if slices.ContainsFunc(s.Select, func(b byte) bool { return b != 0 }) {
			names = append(names, eventlog.Alg(s.Hash).String())
		}
	}
	if len(names) == 0 {
		return "empty"
	}
	return strings.Join(names, "+")
}

// checkClock compares a quote's clock with the last accepted one. The TPM
// clock only moves forward within one reset and restart; a reset count that
// went back, or the same boot with an older clock, is an old quote replayed
// (TPM 2.0 Part 1 §36.6).
func checkClock(bank string, got ClockInfo, last *ClockInfo) *Check {
	if last == nil {
		return nil
	}
	switch {
	case got.ResetCount < last.ResetCount:
		return &Check{Code: CodeQuoteReset, Bank: bank,
			Message:  fmt.Sprintf("The %s quote's TPM reset count went back from %d to %d: an old quote was replayed.", bank, last.ResetCount, got.ResetCount),
			Expected: []string{fmt.Sprintf("reset_count >= %d", last.ResetCount)}, Found: fmt.Sprintf("reset_count %d", got.ResetCount)}
	case got.ResetCount == last.ResetCount && got.RestartCount < last.RestartCount:
		return &Check{Code: CodeQuoteReset, Bank: bank,
			Message:  fmt.Sprintf("The %s quote's TPM restart count went back from %d to %d within one reset: an old quote was replayed.", bank, last.RestartCount, got.RestartCount),
			Expected: []string{fmt.Sprintf("restart_count >= %d", last.RestartCount)}, Found: fmt.Sprintf("restart_count %d", got.RestartCount)}
	case got.ResetCount == last.ResetCount && got.RestartCount == last.RestartCount && got.Clock < last.Clock:
		return &Check{Code: CodeQuoteClock, Bank: bank,
			Message:  fmt.Sprintf("The %s quote's TPM clock went back from %d to %d ms: an old quote was replayed.", bank, last.Clock, got.Clock),
			Expected: []string{fmt.Sprintf("clock >= %d", last.Clock)}, Found: fmt.Sprintf("clock %d", got.Clock)}
	}
	return nil
}
