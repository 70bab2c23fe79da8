package ima

import (
	"bytes"
	"hash"
	"sort"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// extender holds one bank's running PCR values.
type extender struct {
	alg     eventlog.Alg
	h       hash.Hash
	pcrs    [24][]byte // nil: not extended, zero
	targets []target   // the quoted values to stop at
	buf     []byte     // old value || digest
	ones    []byte
}

type target struct {
	pcr   uint32
	value []byte
}

func newExtender(a eventlog.Alg, start, quoted map[uint32][]byte) *extender {
	hf, _ := a.Hash()
	x := &extender{alg: a, h: hf.New(), buf: make([]byte, 2*a.Size())}
	for pcr, v := range start {
		if pcr < 24 {
			x.pcrs[pcr] = bytes.Clone(v)
		}
	}
	for _, pcr := range sortedPCRs(quoted) {
		x.targets = append(x.targets, target{pcr, quoted[pcr]})
	}
	x.ones = bytes.Repeat([]byte{0xff}, a.Size())
	return x
}

// value is the PCR's current value; a PCR no entry extended is zero.
func (x *extender) value(pcr uint32) []byte {
	if pcr < 24 && x.pcrs[pcr] != nil {
		return x.pcrs[pcr]
	}
	return make([]byte, x.alg.Size())
}

func (x *extender) matches() bool {
	for _, t := range x.targets {
		if t.pcr >= 24 {
			return false
		}
		if v := x.pcrs[t.pcr]; v != nil {
			if !bytes.Equal(v, t.value) {
				return false
			}
		} else if !isZero(t.value) {
			return false
		}
	}
	return true
}

// extend computes PCR := H(PCR || digest) with the digest the kernel uses
// for this entry in this bank and mode. check has bounded e.PCR.
func (x *extender) extend(e *Entry, mode Mode) {
	size := x.alg.Size()
	d := x.buf[size:]
	switch {
	case e.Violation():
		copy(d, x.ones)
	case x.alg == eventlog.SHA1 || mode == ModeSHA1Padded:
		clear(d)
		copy(d, e.TemplateHash[:])
	default:
		x.h.Reset()
		x.h.Write(e.TemplateData)
		x.h.Sum(d[:0])
	}
	v := x.pcrs[e.PCR]
	if v == nil {
		v = make([]byte, size)
		x.pcrs[e.PCR] = v
	}
	copy(x.buf, v)
	x.h.Reset()
	x.h.Write(x.buf)
	x.h.Sum(v[:0])
}

func (x *extender) values() map[uint32][]byte {
	out := map[uint32][]byte{}
	for pcr, v := range x.pcrs {
		if v != nil {
			out[uint32(pcr)] = bytes.Clone(v)
		}
	}
	return out
}

func knownBank(a eventlog.Alg) bool {
	_, ok := a.Hash()
	return ok
}

func hasNonSHA1(p PCRs) bool {
	for a := range p {
		if a != eventlog.SHA1 {
			return true
		}
	}
	return false
}

func hasNonSHA1Ext(ext []*extender) bool {
	for _, x := range ext {
		if x.alg != eventlog.SHA1 {
			return true
		}
	}
	return false
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func sortedBanks(p PCRs) []eventlog.Alg {
	out := make([]eventlog.Alg, 0, len(p))
	for a := range p {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedPCRs(m map[uint32][]byte) []uint32 {
	out := make([]uint32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
