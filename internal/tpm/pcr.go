package tpm

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// NumPCRs is the number of PCRs of a bank that bootproof reads and quotes:
// the 24 the TCG PC Client Platform TPM Profile requires.
const NumPCRs = 24

// Banks returns the active PCR banks: those the TPM's PCR allocation
// (TPM2_GetCapability(TPM_CAP_PCRS)) assigns at least one PCR to, in the
// TPM's order. Banks with an algorithm eventlog does not know are returned
// too, so a caller can report them.
func (d *Device) Banks() ([]eventlog.Alg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, err
	}
	return banks(t)
}

func banks(t transport.TPM) ([]eventlog.Alg, error) {
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapPCRs, Property: 0, PropertyCount: 1}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("get capability pcrs: %w", err)
	}
	sel, err := rsp.CapabilityData.Data.AssignedPCR()
	if err != nil {
		return nil, fmt.Errorf("get capability pcrs: %w", err)
	}
	var out []eventlog.Alg
	for _, s := range sel.PCRSelections {
		for _, b := range s.PCRSelect {
			if b != 0 {
				out = append(out, eventlog.Alg(s.Hash))
				break
			}
		}
	}
	return out, nil
}

// Extend extends PCR pcr with one digest per bank in a single TPM2_PCR_Extend
// (a TPML_DIGEST_VALUES), as firmware does for one event. Each digest must
// have its bank's size; banks not listed are left alone.
func (d *Device) Extend(pcr int, digests []eventlog.Digest) error {
	if pcr < 0 || pcr >= NumPCRs {
		return fmt.Errorf("extend pcr %d: pcr out of range 0..%d", pcr, NumPCRs-1)
	}
	vals := tpm2.TPMLDigestValues{}
	for _, dg := range digests {
		if n := dg.Alg.Size(); n == 0 || n != len(dg.Value) {
			return fmt.Errorf("extend pcr %d: %v digest is %d bytes, want %d", pcr, dg.Alg, len(dg.Value), n)
		}
		vals.Digests = append(vals.Digests, tpm2.TPMTHA{HashAlg: tpm2.TPMIAlgHash(dg.Alg), Digest: dg.Value})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return err
	}
	_, err = tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests:   vals,
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("extend pcr %d: %w", pcr, err)
	}
	return nil
}

// ReadPCRs returns all 24 PCRs of the bank, keyed by index.
func (d *Device) ReadPCRs(bank eventlog.Alg) (map[int][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, err
	}
	pcrs, _, err := readPCRs(t, bank)
	return pcrs, err
}

// readPCRs reads all 24 PCRs of a bank. TPM2_PCR_Read returns at most 8
// digests per call (TPML_DIGEST's limit), so it asks again for those not yet
// returned. It also returns the PCR update counter and fails when it changed
// between the reads: the values would not belong to one moment.
func readPCRs(t transport.TPM, bank eventlog.Alg) (map[int][]byte, uint32, error) {
	want := make([]uint, NumPCRs)
	for i := range want {
		want[i] = uint(i)
	}
	out := make(map[int][]byte, NumPCRs)
	var counter uint32
	for round := 0; len(want) > 0; round++ {
		rsp, err := tpm2.PCRRead{PCRSelectionIn: selection(bank, want)}.Execute(t)
		if err != nil {
			return nil, 0, fmt.Errorf("read %v pcrs: %w", bank, err)
		}
		if round == 0 {
			counter = rsp.PCRUpdateCounter
		} else if rsp.PCRUpdateCounter != counter {
			return nil, 0, fmt.Errorf("read %v pcrs: pcr update counter moved from %d to %d during the read", bank, counter, rsp.PCRUpdateCounter)
		}
		got := selected(rsp.PCRSelectionOut, bank)
		if len(got) == 0 || len(got) != len(rsp.PCRValues.Digests) {
			return nil, 0, fmt.Errorf("read %v pcrs: tpm returned %d values for %d selected pcrs (is the bank active?)", bank, len(rsp.PCRValues.Digests), len(got))
		}
		for i, pcr := range got {
			out[int(pcr)] = rsp.PCRValues.Digests[i].Buffer
		}
		rest := want[:0]
		for _, p := range want {
			if _, ok := out[int(p)]; !ok {
				rest = append(rest, p)
			}
		}
		want = rest
	}
	return out, counter, nil
}

// selection selects pcrs in one bank.
func selection(bank eventlog.Alg, pcrs []uint) tpm2.TPMLPCRSelection {
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash:      tpm2.TPMIAlgHash(bank),
		PCRSelect: tpm2.PCClientCompatible.PCRs(pcrs...),
	}}}
}

// selected lists, in ascending order, the PCRs a selection picks in bank.
// TPM2_PCR_Read returns digests in this order (Part 3 §22.4).
func selected(sel tpm2.TPMLPCRSelection, bank eventlog.Alg) []uint {
	var out []uint
	for _, s := range sel.PCRSelections {
		if eventlog.Alg(s.Hash) != bank {
			continue
		}
		for i, b := range s.PCRSelect {
			for bit := 0; bit < 8; bit++ {
				if b&(1<<bit) != 0 {
					out = append(out, uint(i*8+bit))
				}
			}
		}
	}
	return out
}
