package quote

import (
	"errors"
	"fmt"
)

// Bounds on a quote's PCR selection. A TPM has one bank per implemented
// hash (HASH_COUNT, a handful in practice), so more than 16 selections is
// not a TPM's output; and sizeofSelect is at most PCR_SELECT_MAX, 32 bytes
// for the 256 PCRs the TPM_PT_PCR_COUNT property can ever report (a PC
// Client TPM uses 3). go-tpm accepts up to 4096 selections of up to 255
// bytes; refusing more bounds the work a hostile quote causes.
const (
	maxPCRSelections = 16
	maxSizeofSelect  = 32
)

// PCRSelection is one TPMS_PCR_SELECTION: a bank and its bitmap.
type PCRSelection struct {
	Hash   uint16
	Select []byte // pcrSelect: bit i of byte j selects PCR 8j+i; aliases the input
}

// Attest is a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2
// §10.12.12, §10.12.1). Its byte slices alias the input of ParseAttest.
type Attest struct {
	QualifiedSigner          []byte // TPM2B_NAME contents
	ExtraData                []byte // TPM2B_DATA contents (the nonce)
	Clock                    uint64
	ResetCount, RestartCount uint32
	Safe                     bool
	FirmwareVersion          uint64
	PCRSelections            []PCRSelection // TPML_PCR_SELECTION of the TPMS_QUOTE_INFO
	PCRDigest                []byte         // TPM2B_DIGEST of the TPMS_QUOTE_INFO
}

// attestAlloc puts a quote's usual selections in the same allocation as the
// Attest: bootproof's agent quotes every bank (up to four) in one quote.
type attestAlloc struct {
	a    Attest
	sels [4]PCRSelection
}

// ParseAttest decodes b, which must be exactly one TPMS_ATTEST: magic
// TPM_GENERATED_VALUE (0xff544347), type TPM_ST_ATTEST_QUOTE (0x8018), no
// trailing bytes. Errors are *ParseError and say what and at which byte
// offset ("TPMS_ATTEST: extraData at offset 40: size 70 exceeds the 12
// bytes left"). The result's slices alias b.
//
// It checks the structure only; nothing in it is proven until
// VerifySignature has checked the quote's signature over b.
func ParseAttest(b []byte) (*Attest, error) {
	r := reader{b: b, name: "TPMS_ATTEST"}
	if err := attestHeader(&r); err != nil {
		return nil, err
	}
	al := &attestAlloc{}
	a := &al.a
	var err error
	if a.QualifiedSigner, err = r.sized("qualifiedSigner"); err != nil {
		return nil, err
	}
	if a.ExtraData, err = r.sized("extraData"); err != nil {
		return nil, err
	}
	if err = clockInfo(&r, a); err != nil {
		return nil, err
	}
	if a.FirmwareVersion, err = r.u64("firmwareVersion"); err != nil {
		return nil, err
	}
	if a.PCRSelections, err = pcrSelections(&r, al.sels[:0]); err != nil {
		return nil, err
	}
	if a.PCRDigest, err = r.sized("pcrDigest"); err != nil {
		return nil, err
	}
	if err = r.end(); err != nil {
		return nil, err
	}
	return a, nil
}

// attestHeader checks the magic and type. The magic is what makes a
// restricted key's signature meaningful: the TPM signs nothing starting
// with TPM_GENERATED_VALUE that it did not make itself (Part 1 §29.2.1).
func attestHeader(r *reader) error {
	magic, err := r.u32("magic")
	if err != nil {
		return err
	}
	if magic != generated {
		return r.failAt(0, "magic", "0x%08x, want TPM_GENERATED_VALUE 0xff544347", magic)
	}
	typ, err := r.u16("type")
	if err != nil {
		return err
	}
	if typ != stAttestQuote {
		return r.failAt(4, "type", "0x%04x, want TPM_ST_ATTEST_QUOTE 0x8018", typ)
	}
	return nil
}

// clockInfo reads a TPMS_CLOCK_INFO into a.
func clockInfo(r *reader, a *Attest) error {
	var err error
	if a.Clock, err = r.u64("clockInfo.clock"); err != nil {
		return err
	}
	if a.ResetCount, err = r.u32("clockInfo.resetCount"); err != nil {
		return err
	}
	if a.RestartCount, err = r.u32("clockInfo.restartCount"); err != nil {
		return err
	}
	at := r.off
	safe, err := r.u8("clockInfo.safe")
	if err != nil {
		return err
	}
	// TPMI_YES_NO admits only NO (0) and YES (1) (Part 2 §9.2); a TPM
	// never writes anything else. go-tpm reads any non-zero byte as true;
	// this decoder refuses the byte rather than guess.
	if safe > 1 {
		return r.failAt(at, "clockInfo.safe", "%d is not TPMI_YES_NO (0 or 1)", safe)
	}
	a.Safe = safe == 1
	return nil
}

// pcrSelections reads the TPML_PCR_SELECTION of a TPMS_QUOTE_INFO,
// appending to buf when the selections fit in it.
func pcrSelections(r *reader, buf []PCRSelection) ([]PCRSelection, error) {
	at := r.off
	count, err := r.u32("pcrSelect.count")
	if err != nil {
		return nil, err
	}
	if count > maxPCRSelections {
		return nil, r.failAt(at, "pcrSelect.count", "%d selections, at most %d", count, maxPCRSelections)
	}
	sels := buf
	if int(count) > cap(buf) {
		sels = make([]PCRSelection, 0, count)
	}
	for i := range int(count) {
		s, err := pcrSelection(r)
		if err != nil {
			return nil, inSelection(err, i)
		}
		sels = append(sels, s)
	}
	return sels, nil
}

// pcrSelection reads one TPMS_PCR_SELECTION.
func pcrSelection(r *reader) (PCRSelection, error) {
	hash, err := r.u16("hash")
	if err != nil {
		return PCRSelection{}, err
	}
	at := r.off
	n, err := r.u8("sizeofSelect")
	if err != nil {
		return PCRSelection{}, err
	}
	if n > maxSizeofSelect {
		return PCRSelection{}, r.failAt(at, "sizeofSelect", "%d bytes, at most %d", n, maxSizeofSelect)
	}
	sel, err := r.take("pcrSelect", int(n))
	if err != nil {
		return PCRSelection{}, err
	}
	return PCRSelection{Hash: hash, Select: sel}, nil
}

// inSelection names the selection a field error happened in.
func inSelection(err error, i int) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.Field = fmt.Sprintf("pcrSelections[%d].%s", i, pe.Field)
	}
	return err
}
