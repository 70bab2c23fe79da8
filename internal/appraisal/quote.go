package appraisal

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

// quote is a quote whose signature, nonce, selection and PCR digest held:
// its PCR values are what the TPM had.
type quote struct {
	bank  eventlog.Alg
	pcrs  map[int][]byte // exactly the selected PCRs
	clock ClockInfo
}

// ParseAttest reads a TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) as a TPM
// signs it. It checks the structure only: that the TPM made it (magic
// TPM_GENERATED_VALUE) and that it is a quote. It proves nothing until its
// signature is checked.
func ParseAttest(b []byte) (att *tpm2.TPMSAttest, info *tpm2.TPMSQuoteInfo, err error) {
	defer func() {
		// go-tpm's reflective decoder is not written for hostile input;
		// a panic there must not take the verifier down.
		if r := recover(); r != nil {
			att, info, err = nil, nil, fmt.Errorf("parse TPMS_ATTEST: malformed structure (%v)", r)
		}
	}()
	if len(b) == 0 {
		return nil, nil, errors.New("parse TPMS_ATTEST: empty")
	}
	att, err = tpm2.Unmarshal[tpm2.TPMSAttest](b)
	if err != nil {
		return nil, nil, fmt.Errorf("parse TPMS_ATTEST: %w", err)
	}
	if att.Magic != tpm2.TPMGeneratedValue {
		return nil, nil, fmt.Errorf("parse TPMS_ATTEST: magic 0x%08x, want TPM_GENERATED_VALUE 0xff544347", uint32(att.Magic))
	}
	if att.Type != tpm2.TPMSTAttestQuote {
		return nil, nil, fmt.Errorf("parse TPMS_ATTEST: type 0x%04x, want TPM_ST_ATTEST_QUOTE 0x8018", uint16(att.Type))
	}
	info, err = att.Attested.Quote()
	if err != nil {
		return nil, nil, fmt.Errorf("parse TPMS_ATTEST: quote info: %w", err)
	}
	return att, info, nil
}

// akKey reads the enrolled AK's TPMT_PUBLIC into a Go public key.
func akKey(b []byte) (crypto.PublicKey, error) {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil {
		return nil, fmt.Errorf("parse enrolled AK TPMT_PUBLIC: %w", err)
	}
	// Only a restricted signing key proves a quote: the TPM refuses to sign
	// outside data that starts with TPM_GENERATED_VALUE with it (TPM 2.0
	// Part 1 §29.2.1), while an unrestricted key signs any digest, so a host
	// could forge a TPMS_ATTEST. Enrolment checks this too.
	if a := pub.ObjectAttributes; !a.Restricted || !a.SignEncrypt || a.Decrypt || !a.FixedTPM {
		return nil, errors.New("enrolled AK is not a restricted, fixedTPM signing key")
	}
	k, err := tpm2.Pub(*pub)
	if err != nil {
		return nil, fmt.Errorf("enrolled AK: %w", err)
	}
	return k, nil
}

// sigHash maps a signature's hash to Go's. SHA-1 is refused: a quote
// signature over SHA-1 can be forged by collision.
func sigHash(alg tpm2.TPMIAlgHash) (crypto.Hash, error) {
	switch alg {
	case tpm2.TPMAlgSHA256:
		return crypto.SHA256, nil
	case tpm2.TPMAlgSHA384:
		return crypto.SHA384, nil
	case tpm2.TPMAlgSHA512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("signature hash 0x%04x is not SHA-256, SHA-384 or SHA-512", uint16(alg))
}

// verifySignature checks a TPMT_SIGNATURE over attest by the AK and returns
// the hash of the signing scheme, which is also the hash of the quote's
// pcrDigest (TPM 2.0 Part 3 §18.4).
func verifySignature(ak crypto.PublicKey, attest, sigBytes []byte) (h crypto.Hash, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = 0, fmt.Errorf("parse TPMT_SIGNATURE: malformed structure (%v)", r)
		}
	}()
	sig, err := tpm2.Unmarshal[tpm2.TPMTSignature](sigBytes)
	if err != nil {
		return 0, fmt.Errorf("parse TPMT_SIGNATURE: %w", err)
	}
	switch sig.SigAlg {
	case tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS:
		pub, ok := ak.(*rsa.PublicKey)
		if !ok {
			return 0, fmt.Errorf("an RSA signature, but the enrolled AK is %T", ak)
		}
		var s *tpm2.TPMSSignatureRSA
		if sig.SigAlg == tpm2.TPMAlgRSASSA {
			s, err = sig.Signature.RSASSA()
		} else {
			s, err = sig.Signature.RSAPSS()
		}
		if err != nil {
			return 0, fmt.Errorf("parse TPMT_SIGNATURE: %w", err)
		}
		if h, err = sigHash(s.Hash); err != nil {
			return 0, err
		}
		d := digest(h, attest)
		if sig.SigAlg == tpm2.TPMAlgRSASSA {
			err = rsa.VerifyPKCS1v15(pub, h, d, s.Sig.Buffer)
		} else {
			err = rsa.VerifyPSS(pub, h, d, s.Sig.Buffer, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		if err != nil {
			return 0, errors.New("the RSA signature does not verify with the enrolled AK")
		}
		return h, nil
	case tpm2.TPMAlgECDSA:
		pub, ok := ak.(*ecdsa.PublicKey)
		if !ok {
			return 0, fmt.Errorf("an ECDSA signature, but the enrolled AK is %T", ak)
		}
		s, err := sig.Signature.ECDSA()
		if err != nil {
			return 0, fmt.Errorf("parse TPMT_SIGNATURE: %w", err)
		}
		if h, err = sigHash(s.Hash); err != nil {
			return 0, err
		}
		r := new(big.Int).SetBytes(s.SignatureR.Buffer)
		ss := new(big.Int).SetBytes(s.SignatureS.Buffer)
		if !ecdsa.Verify(pub, digest(h, attest), r, ss) {
			return 0, errors.New("the ECDSA signature does not verify with the enrolled AK")
		}
		return h, nil
	}
	return 0, fmt.Errorf("signature algorithm 0x%04x is not RSASSA, RSAPSS or ECDSA", uint16(sig.SigAlg))
}

func digest(h crypto.Hash, b []byte) []byte {
	hh := h.New()
	hh.Write(b)
	return hh.Sum(nil)
}

// selectedPCRs lists the PCRs a selection covers, in the order the TPM
// concatenates them for the pcrDigest (TPM 2.0 Part 1 §17.5: selections in
// order, PCRs ascending within each).
func selectedPCRs(sel tpm2.TPMSPCRSelection) ([]int, error) {
	var pcrs []int
	for i, b := range sel.PCRSelect {
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
func checkQuote(q wire.Quote, ak crypto.PublicKey, nonce []byte) ([]*quote, *Check) {
	var label string // the banks the quote selects, once it is read
	fail := func(code, format string, a ...any) ([]*quote, *Check) {
		return nil, &Check{Code: code, Bank: label, Message: fmt.Sprintf(format, a...)}
	}
	att, info, err := ParseAttest(q.Attest)
	if err != nil {
		return fail(CodeQuoteSignature, "A quote is not a TPM quote: %v.", err)
	}
	label = quoteLabel(info.PCRSelect)
	h, err := verifySignature(ak, q.Attest, q.Signature)
	if err != nil {
		return fail(CodeQuoteSignature, "The %s quote is not signed by this host's enrolled AK: %v.", label, err)
	}
	if !bytes.Equal(att.ExtraData.Buffer, nonce) {
		_, c := fail(CodeQuoteNonce, "The %s quote does not carry the nonce the verifier issued.", label)
		c.Expected, c.Found = []string{hex.EncodeToString(nonce)}, hex.EncodeToString(att.ExtraData.Buffer)
		return nil, c
	}
	ci := att.ClockInfo
	clock := ClockInfo{Clock: ci.Clock, ResetCount: ci.ResetCount, RestartCount: ci.RestartCount, Safe: bool(ci.Safe)}
	hh := h.New()
	var out []*quote
	for _, sel := range info.PCRSelect.PCRSelections {
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
		if slices.ContainsFunc(out, func(o *quote) bool { return o.bank == bank }) {
			return fail(CodeQuotePCRSelection, "The %s quote selects bank %v twice.", label, bank)
		}
		sent := q.PCRs[bank.String()]
		bq := &quote{bank: bank, pcrs: make(map[int][]byte, len(pcrs)), clock: clock}
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
	if got := hh.Sum(nil); !bytes.Equal(got, info.PCRDigest.Buffer) {
		_, c := fail(CodeQuotePCRDigest, "The %s PCR values sent are not the values the TPM quoted.", label)
		c.Expected, c.Found = []string{hex.EncodeToString(info.PCRDigest.Buffer)}, hex.EncodeToString(got)
		return nil, c
	}
	return out, nil
}

// quoteLabel names a quote by the banks it selects ("sha1+sha256"), for
// messages and the check's bank.
func quoteLabel(sel tpm2.TPMLPCRSelection) string {
	var names []string
	for _, s := range sel.PCRSelections {
		if slices.ContainsFunc(s.PCRSelect, func(b byte) bool { return b != 0 }) {
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
