package measure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// peImage is what the Authenticode digest and the labels need of a PE/COFF
// image, every offset checked against the file.
type peImage struct {
	checksumOff   int // the optional header's CheckSum, left out of the digest
	certEntryOff  int // the certificate table's data directory entry, -1 when there is none
	certSize      int // the certificate table's size, left out of the trailing data
	sizeOfHeaders int
	sections      []section // in table order
}

// section is one section table entry's raw data in the file.
type section struct {
	index        int
	name         string
	entryOff     int // the section table entry
	offset, size int // PointerToRawData, SizeOfRawData
	virtualSize  int
}

func (s section) part() string { return fmt.Sprintf("section %d (%s)", s.index, s.name) }

// data is the section's content as loaded: its raw data, cut to its
// virtual size when that is smaller (the rest of the raw data is padding).
func (s section) data(b []byte) []byte {
	d := b[s.offset : s.offset+s.size]
	if s.virtualSize > 0 && s.virtualSize < len(d) {
		d = d[:s.virtualSize]
	}
	return d
}

const (
	dosHeaderSize  = 0x40
	coffHeaderSize = 20
	sectionEntry   = 40
	certDirIndex   = 4 // IMAGE_DIRECTORY_ENTRY_SECURITY
)

func le16(b []byte, off int) int { return int(binary.LittleEndian.Uint16(b[off:])) }
func le32(b []byte, off int) int { return int(binary.LittleEndian.Uint32(b[off:])) }

// isMZ reports whether the file starts as a PE image does. Such a file
// must then parse as one: a damaged EFI image is an error, not a plain file.
func isMZ(b []byte) bool { return len(b) >= 2 && b[0] == 'M' && b[1] == 'Z' }

// parsePE reads the headers and the section table of a PE/COFF image.
func parsePE(b []byte) (*peImage, error) {
	if len(b) < dosHeaderSize {
		return nil, formatErr("DOS header", int64(len(b)), "the file ends after %d bytes, inside the 64-byte DOS header", len(b))
	}
	lfanew := le32(b, 0x3c)
	if lfanew > len(b)-4-coffHeaderSize {
		return nil, formatErr("DOS header", 0x3c, "e_lfanew %#x points past the end of the file (%d bytes)", lfanew, len(b))
	}
	if !bytes.Equal(b[lfanew:lfanew+4], []byte("PE\x00\x00")) {
		return nil, formatErr("PE header", int64(lfanew), "no PE signature (found %q)", b[lfanew:lfanew+4])
	}
	coff := lfanew + 4
	img := &peImage{certEntryOff: -1}
	opt, optSize := coff+coffHeaderSize, le16(b, coff+16)
	if err := img.optionalHeader(b, opt, optSize); err != nil {
		return nil, err
	}
	if err := img.sectionTable(b, opt+optSize, le16(b, coff+2)); err != nil {
		return nil, err
	}
	return img, nil
}

// optionalHeader reads SizeOfHeaders, where CheckSum is and the
// certificate table's data directory entry.
func (img *peImage) optionalHeader(b []byte, opt, size int) error {
	if opt+size > len(b) {
		return formatErr("optional header", int64(opt), "%d bytes claimed, the file ends after %d", size, len(b)-opt)
	}
	if size < 2 {
		return formatErr("optional header", int64(opt), "%d bytes, too short for its magic", size)
	}
	var dirs, count int // the data directories and NumberOfRvaAndSizes
	switch magic := le16(b, opt); magic {
	case 0x10b:
		dirs, count = 96, 92
	case 0x20b:
		dirs, count = 112, 108
	default:
		return formatErr("optional header", int64(opt), "magic %#x is neither PE32 (0x10b) nor PE32+ (0x20b)", magic)
	}
	if size < dirs {
		return formatErr("optional header", int64(opt), "%d bytes, too short for its fixed fields (%d)", size, dirs)
	}
	img.sizeOfHeaders, img.checksumOff = le32(b, opt+60), opt+64
	if img.sizeOfHeaders > len(b) || img.sizeOfHeaders < opt+size {
		return formatErr("optional header", int64(opt+60), "SizeOfHeaders %#x is outside the headers (%#x) and the file (%#x)", img.sizeOfHeaders, opt+size, len(b))
	}
	n := le32(b, opt+count)
	if n > (size-dirs)/8 {
		return formatErr("optional header", int64(opt+count), "%d data directories do not fit in its %d bytes", n, size)
	}
	if n <= certDirIndex {
		return nil
	}
	img.certEntryOff = opt + dirs + certDirIndex*8
	addr, certSize := le32(b, img.certEntryOff), le32(b, img.certEntryOff+4)
	if certSize > 0 && (addr > len(b) || certSize > len(b)-addr) {
		return formatErr("certificate table", int64(img.certEntryOff), "%#x bytes at %#x run past the end of the file (%#x)", certSize, addr, len(b))
	}
	img.certSize = certSize
	return nil
}

// sectionTable reads the section table at off and checks that each
// section's raw data lies in the file, after the headers, and overlaps no
// other: the digest hashes each byte once.
func (img *peImage) sectionTable(b []byte, off, count int) error {
	if off+count*sectionEntry > img.sizeOfHeaders {
		return formatErr("section table", int64(off), "%d sections do not fit before the end of the headers (%#x)", count, img.sizeOfHeaders)
	}
	for i := 0; i < count; i++ {
		e := off + i*sectionEntry
		s := section{index: i, name: string(bytes.TrimRight(b[e:e+8], "\x00")), entryOff: e,
			virtualSize: le32(b, e+8), size: le32(b, e+16), offset: le32(b, e+20)}
		if s.size > 0 && (s.offset > len(b) || s.size > len(b)-s.offset) {
			return formatErr(s.part(), int64(e+16), "raw data of %#x bytes at %#x runs past the end of the file (%#x)", s.size, s.offset, len(b))
		}
		img.sections = append(img.sections, s)
	}
	return checkOverlaps(img.fileOrder(), img.sizeOfHeaders)
}

// fileOrder is the sections with raw data, in file order: the order the
// Authenticode digest hashes them.
func (img *peImage) fileOrder() []section {
	var out []section
	for _, s := range img.sections {
		if s.size > 0 {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].offset < out[j].offset })
	return out
}

func checkOverlaps(sorted []section, headersEnd int) error {
	end, prev := headersEnd, "the headers"
	for _, s := range sorted {
		if s.offset < end {
			return formatErr(s.part(), int64(s.entryOff+20), "raw data at %#x overlaps %s, which end at %#x", s.offset, prev, end)
		}
		end, prev = s.offset+s.size, s.part()
	}
	return nil
}

// section returns the first section of that name.
func (img *peImage) section(name string) (section, bool) {
	for _, s := range img.sections {
		if s.name == name {
			return s, true
		}
	}
	return section{}, false
}
