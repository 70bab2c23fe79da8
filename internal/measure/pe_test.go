package measure

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestAuthenticodeRanges checks, on a built image, which bytes the digest
// covers: the spec's ranges written out by hand, and that changing a byte
// outside them (CheckSum, the certificate table entry, the signatures)
// keeps the digest while changing one inside (headers, a section, the data
// after the sections) changes it.
func TestAuthenticodeRanges(t *testing.T) {
	b := newTestPE().b
	var want bytes.Buffer
	want.Write(b[:tpChecksum])
	want.Write(b[tpChecksum+4 : tpCertEntry])
	want.Write(b[tpCertEntry+8 : tpHeaders])
	want.Write(b[tpTextOff : tpTextOff+tpSectSize])
	want.Write(b[tpSbatOff : tpSbatOff+tpSectSize])
	want.Write(b[tpTrailing : tpTrailing+tpTrailLen])
	sum := sha256.Sum256(want.Bytes())
	got, err := Authenticode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("Authenticode SHA-256 %s, want %x (the spec's ranges)", got.SHA256, sum)
	}
	tests := []struct {
		name string
		off  int
		same bool
	}{
		{"CheckSum", tpChecksum + 1, true},
		{"a signature byte", tpCertOff + 5, true},
		{"the DOS header", 0x10, false},
		{"the section table", tpSections + 1, false},
		{"a .text byte", tpTextOff + 9, false},
		{"the .sbat padding", tpSbatOff + tpSectSize - 1, false},
		{"the data after the sections", tpTrailing + 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestPE()
			c.b[tt.off] ^= 0x40
			d, err := Authenticode(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if (d == got) != tt.same {
				t.Errorf("changing %s at %#x: digest unchanged %v, want %v", tt.name, tt.off, d == got, tt.same)
			}
		})
	}
}

// TestPEErrors damages one field at a time: each gives a *FormatError
// naming the structure and the offset of the bad field, never a panic and
// never a digest.
func TestPEErrors(t *testing.T) {
	s1 := tpSections + tpSectionLen // the .sbat entry
	sbatLine2 := strings.IndexByte(tpSbatText, '\n') + 1
	tests := []struct {
		name   string
		damage func(p *testPE)
		part   string
		offset int64
		msg    string
	}{
		{"e_lfanew past the end", func(p *testPE) { p.put32(0x3c, 0x7fff0000) }, "DOS header", 0x3c, "past the end"},
		{"no PE signature", func(p *testPE) { p.b[tpLfanew+1] = 'X' }, "PE header", tpLfanew, "no PE signature"},
		{"optional header past the end", func(p *testPE) { p.put16(tpCOFF+16, 0xffff) }, "optional header", tpOpt, "claimed"},
		{"unknown magic", func(p *testPE) { p.put16(tpOpt, 0x107) }, "optional header", tpOpt, "magic 0x107"},
		{"optional header too short", func(p *testPE) { p.put16(tpCOFF+16, 100) }, "optional header", tpOpt, "too short"},
		{"SizeOfHeaders past the end", func(p *testPE) { p.put32(tpOpt+60, 0x100000) }, "optional header", tpOpt + 60, "SizeOfHeaders"},
		{"too many data directories", func(p *testPE) { p.put32(tpNumDirs, 17) }, "optional header", tpNumDirs, "17 data directories"},
		{"certificate table past the end", func(p *testPE) { p.put32(tpCertEntry+4, tpCertLen+1) }, "certificate table", tpCertEntry, "past the end"},
		{"too many sections", func(p *testPE) { p.put16(tpCOFF+2, 9) }, "section table", tpSections, "9 sections"},
		{"section past the end", func(p *testPE) { p.put32(s1+16, 0x10000) }, "section 1 (.sbat)", int64(s1 + 16), "past the end"},
		{"section offset past the end", func(p *testPE) { p.put32(s1+20, 0x7fffffff) }, "section 1 (.sbat)", int64(s1 + 16), "past the end"},
		{"overlapping sections", func(p *testPE) { p.put32(s1+20, tpTextOff+0x100) }, "section 1 (.sbat)", int64(s1 + 20), "overlaps section 0 (.text)"},
		{"section over the headers", func(p *testPE) { p.put32(tpSections+20, 0x100) }, "section 0 (.text)", tpSections + 20, "overlaps the headers"},
		{"bad SBAT generation", func(p *testPE) { copy(p.b[tpSbatOff+sbatLine2:], "grub,x,") }, ".sbat line 2", int64(tpSbatOff + sbatLine2), `generation "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPE()
			tt.damage(p)
			r, err := File(p.b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("File: %v (result %+v), want a *FormatError", err, r)
			}
			if fe.Part != tt.part || fe.Offset != tt.offset || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("File: %q, want part %q at offset %#x saying %q", err, tt.part, tt.offset, tt.msg)
			}
		})
	}
}

// TestTruncatedPE cuts the image at every length short of whole: each cut
// loses a part the digest or the certificate table needs, so each is an
// error, not a digest of what is left.
func TestTruncatedPE(t *testing.T) {
	full := newTestPE().b
	for n := 0; n < len(full); n++ {
		if _, err := File(full[:n]); err == nil && n >= 2 {
			t.Fatalf("File of the image cut to %d of %d bytes: no error", n, len(full))
		}
	}
}

// TestBuiltImage reads the built image's kind, label and SBAT entries.
func TestBuiltImage(t *testing.T) {
	r, err := File(newTestPE().b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindEFIImage || r.Label != "grub 2.06-13+deb12u1 (SBAT grub,4)" || len(r.SBAT) != 3 || !r.CanBe("bootloader") || r.CanBe("kernel") {
		t.Errorf("File: kind %s label %q sbat %+v classes %v, want an EFI image labelled by its SBAT", r.Kind, r.Label, r.SBAT, r.Classes)
	}
	if len(r.Measurements) != 2 || r.Measurements[0].PCR != PCRImages || r.Measurements[1].PCR != PCRFiles {
		t.Errorf("measurements %+v, want PCR 4 then PCR 9", r.Measurements)
	}
}
