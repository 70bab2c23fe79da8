package tpm

import (
	"bytes"
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// MaxNonce is the longest nonce a quote carries: a TPM2B_DATA holds at most
// a TPMT_HA, whose largest digest (SHA-512) is 64 bytes.
const MaxNonce = 64

// quoteAttempts bounds the retries when a PCR changes between the quote and
// the reads (another process extending at that moment).
const quoteAttempts = 3

// Quote signs, with the AK, all 24 PCRs of every bank in banks in one
// TPM2_Quote with nonce as qualifyingData (TPM 2.0 Part 3 §18.4). It returns
// the TPMS_ATTEST the TPM made (the contents of the TPM2B_ATTEST), its
// TPMT_SIGNATURE marshalled, and the PCR values the quote covers, by bank.
// One quote for all banks costs the TPM one signature (0.1 to several
// seconds on hardware) and the verifier one check.
//
// The values come from TPM2_PCR_Read after the quote; they belong to the
// quote only if no PCR moved in between. Quote checks that, rather than
// trusting timing: the PCR update counter read before the quote must equal
// the one every read after it returns, and the values read, concatenated in
// the quote's own selection order and hashed with the AK's scheme hash,
// must equal the quote's pcrDigest; on a mismatch it quotes again, up to
// quoteAttempts times. The verifier repeats the digest check: nothing here
// is taken on trust there.
func (d *Device) Quote(ak *AK, nonce []byte, banks ...eventlog.Alg) (attest, sig []byte, pcrs map[eventlog.Alg]map[int][]byte, err error) {
	if len(nonce) > MaxNonce {
		return nil, nil, nil, fmt.Errorf("quote: nonce of %d bytes, at most %d", len(nonce), MaxNonce)
	}
	if ak == nil || ak.dev != d {
		return nil, nil, nil, fmt.Errorf("quote: ak is not loaded in tpm %s", d.desc)
	}
	if len(banks) == 0 {
		return nil, nil, nil, fmt.Errorf("quote: no bank given")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, nil, nil, err
	}
	all := make([]uint, NumPCRs)
	for i := range all {
		all[i] = uint(i)
	}
	var sel tpm2.TPMLPCRSelection
	for _, bank := range banks {
		sel.PCRSelections = append(sel.PCRSelections, selection(bank, all).PCRSelections...)
	}
	for range quoteAttempts {
		before, err := updateCounter(t, banks[0])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("quote %v pcrs: %w", banks, err)
		}
		rsp, err := signQuote(t, ak, nonce, sel)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("quote %v pcrs: %w", banks, err)
		}
		pcrs, moved, err := readBanks(t, banks, before)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("quote %v pcrs: %w", banks, err)
		}
		if moved {
			continue // a PCR was extended around the quote; quote again
		}
		attest = rsp.Quoted.Bytes()
		ok, err := quoteMatches(attest, pcrs)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("quote %v pcrs: %w", banks, err)
		}
		if ok {
			return attest, tpm2.Marshal(rsp.Signature), pcrs, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("quote %v pcrs: pcrs kept changing during %d attempts", banks, quoteAttempts)
}

// signQuote has the TPM quote sel with ak over nonce, in the AK's own
// signing scheme.
func signQuote(t transport.TPM, ak *AK, nonce []byte, sel tpm2.TPMLPCRSelection) (*tpm2.QuoteResponse, error) {
	return tpm2.Quote{
		SignHandle:     tpm2.AuthHandle{Handle: ak.handle, Name: ak.name, Auth: tpm2.PasswordAuth(nil)},
		QualifyingData: tpm2.TPM2BData{Buffer: nonce},
		InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
		PCRSelect:      sel,
	}.Execute(t)
}

// readBanks reads every PCR of banks and reports whether the PCR update
// counter moved away from before during the reads.
func readBanks(t transport.TPM, banks []eventlog.Alg, before uint32) (map[eventlog.Alg]map[int][]byte, bool, error) {
	out := make(map[eventlog.Alg]map[int][]byte, len(banks))
	for _, bank := range banks {
		vals, after, err := readPCRs(t, bank)
		if err != nil {
			return nil, false, err
		}
		if after != before {
			return nil, true, nil
		}
		out[bank] = vals
	}
	return out, false, nil
}

// updateCounter reads the TPM's PCR update counter (with PCR 0 of bank).
func updateCounter(t transport.TPM, bank eventlog.Alg) (uint32, error) {
	rsp, err := tpm2.PCRRead{PCRSelectionIn: selection(bank, []uint{0})}.Execute(t)
	if err != nil {
		return 0, fmt.Errorf("read pcr update counter: %w", err)
	}
	return rsp.PCRUpdateCounter, nil
}

// quoteMatches reports whether the pcrDigest of a TPMS_ATTEST quote equals
// the digest of pcrs concatenated in the quote's selection order (banks as
// selected, PCRs ascending within each; Part 1 §17.5), hashed with the
// digest's own length's algorithm (the AK's scheme hash).
func quoteMatches(attest []byte, pcrs map[eventlog.Alg]map[int][]byte) (bool, error) {
	a, err := tpm2.Unmarshal[tpm2.TPMSAttest](attest)
	if err != nil {
		return false, fmt.Errorf("parse attest: %w", err)
	}
	q, err := a.Attested.Quote()
	if err != nil {
		return false, fmt.Errorf("attest is not a quote: %w", err)
	}
	var h eventlog.Alg
	switch len(q.PCRDigest.Buffer) {
	case 32:
		h = eventlog.SHA256
	case 48:
		h = eventlog.SHA384
	case 64:
		h = eventlog.SHA512
	default:
		return false, fmt.Errorf("quote pcr digest of %d bytes", len(q.PCRDigest.Buffer))
	}
	var cat []byte
	for _, s := range q.PCRSelect.PCRSelections {
		bank := eventlog.Alg(s.Hash)
		vals, ok := pcrs[bank]
		if !ok {
			return false, fmt.Errorf("quote selects bank %v, which was not read", bank)
		}
		for _, pcr := range selected(tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{s}}, bank) {
			cat = append(cat, vals[int(pcr)]...)
		}
	}
	return bytes.Equal(h.Sum(cat), q.PCRDigest.Buffer), nil
}

// ActivateCredential answers the verifier's enrolment challenge
// (TPM2_ActivateCredential, TPM 2.0 Part 3 §12.5): the TPM decrypts
// encryptedSecret with the EK, checks that credentialBlob was made for the
// name of the AK, and only then returns the secret. A verifier that gets the
// secret back knows the AK lives in the same TPM as the EK. The EK's auth
// policy is PolicySecret(TPM_RH_ENDORSEMENT), satisfied in a policy session
// with the (empty) endorsement password.
func (d *Device) ActivateCredential(ak *AK, credentialBlob, encryptedSecret []byte) ([]byte, error) {
	if ak == nil || ak.dev != d {
		return nil, fmt.Errorf("activate credential: ak is not loaded in tpm %s", d.desc)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, err
	}
	ek, err := loadEK(t)
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	defer ek.release(t)
	rsp, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.AuthHandle{Handle: ak.handle, Name: ak.name, Auth: tpm2.PasswordAuth(nil)},
		KeyHandle: tpm2.AuthHandle{
			Handle: ek.handle,
			Name:   ek.name,
			Auth:   tpm2.Policy(tpm2.TPMAlgSHA256, 16, ekPolicy),
		},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: credentialBlob},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encryptedSecret},
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	return rsp.CertInfo.Buffer, nil
}

// ekPolicy satisfies the default EK's policy, PolicySecret(TPM_RH_ENDORSEMENT).
func ekPolicy(t transport.TPM, handle tpm2.TPMISHPolicy, nonceTPM tpm2.TPM2BNonce) error {
	_, err := tpm2.PolicySecret{
		AuthHandle:    tpm2.TPMRHEndorsement,
		PolicySession: handle,
		NonceTPM:      nonceTPM,
	}.Execute(t)
	return err
}

// QuoteSelection has the TPM quote only the given PCRs of bank (none, if
// pcrs is empty) and returns TPMS_ATTEST and TPMT_SIGNATURE. The agent never
// uses it: it always quotes every PCR. It exists for tests and tools that
// must show a verifier what a genuine quote over a narrower selection looks
// like (go-attestation CVE-2022-0317 accepted one).
func (d *Device) QuoteSelection(ak *AK, nonce []byte, bank eventlog.Alg, pcrs []int) (attest, sig []byte, err error) {
	if ak == nil || ak.dev != d {
		return nil, nil, fmt.Errorf("quote: ak is not loaded in tpm %s", d.desc)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, nil, err
	}
	idx := make([]uint, len(pcrs))
	for i, p := range pcrs {
		idx[i] = uint(p)
	}
	sel := selection(bank, idx)
	if len(pcrs) == 0 {
		sel.PCRSelections[0].PCRSelect = make([]byte, 3)
	}
	rsp, err := signQuote(t, ak, nonce, sel)
	if err != nil {
		return nil, nil, fmt.Errorf("quote %v pcrs %v: %w", bank, pcrs, err)
	}
	return rsp.Quoted.Bytes(), tpm2.Marshal(rsp.Signature), nil
}
