package measure

import (
	"encoding/binary"
)

// testPE is a small PE32+ image built field by field, so that a test can
// damage one field and know the offset the error must name.
type testPE struct {
	b []byte
}

// Offsets in the image newTestPE builds.
const (
	tpLfanew     = 0x40
	tpCOFF       = tpLfanew + 4
	tpOpt        = tpCOFF + coffHeaderSize // 0x58
	tpOptSize    = 112 + 16*8
	tpChecksum   = tpOpt + 64
	tpNumDirs    = tpOpt + 108
	tpCertEntry  = tpOpt + 112 + certDirIndex*8
	tpSections   = tpOpt + tpOptSize // 0x148
	tpHeaders    = 0x200
	tpTextOff    = 0x200
	tpSbatOff    = 0x400
	tpSectSize   = 0x200
	tpTrailing   = 0x600 // "trailing data" after the sections
	tpTrailLen   = 0x20
	tpCertOff    = tpTrailing + tpTrailLen
	tpCertLen    = 0x30
	tpSbatText   = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\ngrub,4,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\ngrub.debian,4,Debian,grub2,2.06-13+deb12u1,https://tracker.debian.org/pkg/grub2\n"
	tpSbatVirt   = len(tpSbatText)
	tpSectionLen = 40
)

func newTestPE() *testPE {
	b := make([]byte, tpCertOff+tpCertLen)
	for i := range b {
		b[i] = byte(i * 7) // no two regions alike: a wrong range changes the digest
	}
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], tpLfanew)
	copy(b[tpLfanew:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[tpCOFF:], 0x8664)
	binary.LittleEndian.PutUint16(b[tpCOFF+2:], 2)
	binary.LittleEndian.PutUint64(b[tpCOFF+8:], 0) // no COFF symbol table
	binary.LittleEndian.PutUint16(b[tpCOFF+16:], tpOptSize)
	binary.LittleEndian.PutUint16(b[tpOpt:], 0x20b)
	binary.LittleEndian.PutUint32(b[tpOpt+60:], tpHeaders)
	binary.LittleEndian.PutUint32(b[tpNumDirs:], 16)
	binary.LittleEndian.PutUint32(b[tpCertEntry:], tpCertOff)
	binary.LittleEndian.PutUint32(b[tpCertEntry+4:], tpCertLen)
	p := &testPE{b: b}
	p.setSection(0, ".text", tpTextOff, tpSectSize, tpSectSize)
	p.setSection(1, ".sbat", tpSbatOff, tpSectSize, tpSbatVirt)
	copy(b[tpSbatOff:], tpSbatText)
	for i := tpSbatOff + len(tpSbatText); i < tpSbatOff+tpSectSize; i++ {
		b[i] = 0
	}
	return p
}

func (p *testPE) setSection(i int, name string, off, size, virt int) {
	e := p.b[tpSections+i*tpSectionLen:]
	copy(e[:tpSectionLen], make([]byte, tpSectionLen))
	copy(e, name)
	binary.LittleEndian.PutUint32(e[8:], uint32(virt))
	binary.LittleEndian.PutUint32(e[16:], uint32(size))
	binary.LittleEndian.PutUint32(e[20:], uint32(off))
}

func (p *testPE) put16(off, v int) *testPE {
	binary.LittleEndian.PutUint16(p.b[off:], uint16(v))
	return p
}
func (p *testPE) put32(off, v int) *testPE {
	binary.LittleEndian.PutUint32(p.b[off:], uint32(v))
	return p
}
