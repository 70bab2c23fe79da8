package eventlog

import (
	"encoding/binary"
	"fmt"
)

// Writer builds a crypto-agile event log as firmware writes it: a Spec ID
// header event in the SHA-1 format (TCG PC Client PFP §10.4.5.1), then one
// TCG_PCR_EVENT2 per measurement with a digest for every bank. The bytes are
// what Linux exposes in binary_bios_measurements.
type Writer struct {
	banks []Alg
	buf   []byte
}

// NewWriter starts a log whose header declares the given banks.
func NewWriter(banks []Alg) *Writer {
	w := &Writer{banks: append([]Alg(nil), banks...)}
	w.writeHeader()
	return w
}

// Banks returns the banks the log declares.
func (w *Writer) Banks() []Alg { return append([]Alg(nil), w.banks...) }

func (w *Writer) writeHeader() {
	// TCG_EfiSpecIDEvent (PFP §10.4.5.1).
	var spec []byte
	spec = append(spec, "Spec ID Event03\x00"...)
	spec = binary.LittleEndian.AppendUint32(spec, 0) // platformClass: client
	spec = append(spec, 0, 2, 0, 2)                  // specVersionMinor 0, Major 2, errata 0, uintnSize 2 (64-bit)
	spec = binary.LittleEndian.AppendUint32(spec, uint32(len(w.banks)))
	for _, a := range w.banks {
		spec = binary.LittleEndian.AppendUint16(spec, uint16(a))
		spec = binary.LittleEndian.AppendUint16(spec, uint16(a.Size()))
	}
	spec = append(spec, 0) // vendorInfoSize

	// TCG_PCClientPCREvent (SHA-1 format): PCR 0, EV_NO_ACTION, 20 zero bytes.
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(EvNoAction))
	w.buf = append(w.buf, make([]byte, 20)...)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(spec)))
	w.buf = append(w.buf, spec...)
}

// Append adds one TCG_PCR_EVENT2. digests must hold exactly one digest per
// declared bank, in the header's order, each of the bank's size.
func (w *Writer) Append(pcr int, typ EventType, digests []Digest, data []byte) error {
	if len(digests) != len(w.banks) {
		return fmt.Errorf("append event to PCR %d: %d digests for %d banks", pcr, len(digests), len(w.banks))
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(pcr))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(typ))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(digests)))
	for i, d := range digests {
		if d.Alg != w.banks[i] || len(d.Value) != d.Alg.Size() {
			return fmt.Errorf("append event to PCR %d: digest %d is %v with %d bytes, want %v", pcr, i, d.Alg, len(d.Value), w.banks[i])
		}
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(d.Alg))
		w.buf = append(w.buf, d.Value...)
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(data)))
	w.buf = append(w.buf, data...)
	return nil
}

// Bytes returns the log written so far. The caller must not modify it.
func (w *Writer) Bytes() []byte { return w.buf }
