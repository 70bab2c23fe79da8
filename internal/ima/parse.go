package ima

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Parse reads a whole measurement list (binary_runtime_measurements).
func Parse(b []byte) ([]Entry, error) {
	es, _, err := ParseAt(b, Position{})
	return es, err
}

// ParseAt reads the entries in b, which holds the list from position at
// onward (the bytes after at.Offset, the first of them entry at.Entry). It
// returns the entries read and the position after the last one, so the
// next call can continue there. On an error it returns the entries before
// the bad one and the position of the bad one. It reads at most MaxEntries
// entries; with more it stops with an error and the position to go on from.
//
// Integers are little-endian: the layout of x86, arm64 and of any kernel
// booted with ima_canonical_fmt.
func ParseAt(b []byte, at Position) ([]Entry, Position, error) {
	r := reader{b: b, base: at.Offset}
	pos := at
	out := make([]Entry, 0, countEntries(b))
	for r.off < len(b) {
		if len(out) == entryLimit {
			return out, pos, r.fail(pos.Entry, r.off, fmt.Sprintf(
				"more than %d entries in one call: parse the rest from this position", entryLimit))
		}
		if len(out) == cap(out) {
			out = append(out, Entry{})
		} else {
			out = out[:len(out)+1] // the hint was right: no copy of a zero Entry
		}
		if err := r.entry(&out[len(out)-1], pos.Entry); err != nil {
			return out[:len(out)-1], pos, err
		}
		pos = Position{Entry: pos.Entry + 1, Offset: at.Offset + uint64(r.off)}
	}
	return out, pos, nil
}

// countEntries walks the framing only, to size the result once: entries
// are large, and growing the slice entry by entry cost more than parsing
// them. It is a capacity hint; the parse proper checks everything.
func countEntries(b []byte) int {
	u32 := func(at int) (int, bool) {
		if at < 0 || at > len(b)-4 {
			return 0, false
		}
		return int(binary.LittleEndian.Uint32(b[at:])), true
	}
	n, off := 0, 0
	for off < len(b) && n < entryLimit {
		nameLen, ok := u32(off + 24)
		if !ok || nameLen > MaxTemplateName {
			break
		}
		off += 28 + nameLen
		var l int
		if off <= len(b) && string(b[off-nameLen:off]) == "ima" {
			l, ok = u32(off + 20)
			l += 24
		} else {
			l, ok = u32(off)
			l += 4
		}
		if !ok || l > MaxEntrySize+4 {
			break
		}
		off += l
		n++
	}
	return n
}

// entryLimit is MaxEntries; tests lower it.
var entryLimit = MaxEntries

// reader walks the list; base is the offset of b in the whole list, so
// errors name offsets a user can find in the file.
type reader struct {
	b    []byte
	off  int
	base uint64
	slab []Field // fields are cut from here, a chunk at a time
}

// fields returns an empty slice with room for n fields from the slab.
func (r *reader) fields(n int) []Field {
	if len(r.slab) < n {
		r.slab = make([]Field, max(n, 1024))
	}
	f := r.slab[:0:n]
	r.slab = r.slab[n:]
	return f
}

func (r *reader) fail(entry uint64, off int, msg string) *ParseError {
	return &ParseError{Entry: entry, Offset: r.base + uint64(off), Msg: msg}
}

// take returns the next n bytes, or an error saying what was cut short.
func (r *reader) take(entry uint64, n int, what string) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, r.fail(entry, r.off, fmt.Sprintf("%s: need %d bytes, %d left", what, n, len(r.b)-r.off))
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) u32(entry uint64, what string) (uint32, error) {
	s, err := r.take(entry, 4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

// length reads a u32 length field and checks it against max.
func (r *reader) length(entry uint64, what string, max int) (int, error) {
	at := r.off
	n, err := r.u32(entry, what)
	if err != nil {
		err.(*ParseError).Msg = what + " length" + strings.TrimPrefix(err.(*ParseError).Msg, what)
		return 0, err
	}
	if uint64(n) > uint64(max) {
		return 0, r.fail(entry, at, fmt.Sprintf("%s length %d exceeds the limit of %d", what, n, max))
	}
	return int(n), nil
}

// entry reads one entry into e: PCR, template hash, template name,
// template data.
func (r *reader) entry(e *Entry, index uint64) error {
	e.Index, e.Offset = index, r.base+uint64(r.off) // e is zero
	pcrAt := r.off
	pcr, err := r.u32(index, "PCR index")
	if err != nil {
		return err
	}
	if pcr > 23 {
		return r.fail(index, pcrAt, fmt.Sprintf("PCR index %d is not a PCR (0-23)", pcr))
	}
	e.PCR = pcr
	h, err := r.take(index, 20, "template hash")
	if err != nil {
		return err
	}
	copy(e.TemplateHash[:], h)
	nameAt := r.off
	n, err := r.length(index, "template name", MaxTemplateName)
	if err != nil {
		return err
	}
	name, err := r.take(index, n, "template name")
	if err != nil {
		return err
	}
	if n == 0 {
		return r.fail(index, nameAt, "empty template name")
	}
	e.Template = internTemplate(name)
	if e.Template == "ima" {
		return r.legacy(e)
	}
	return r.templateData(e)
}

// legacy reads the `ima` template, which the list frames differently: a
// 20-byte SHA-1 file digest with no length, then the name with a length
// but without its NUL. Its template hash covers the digest and the name
// padded with NULs to 256 bytes.
func (r *reader) legacy(e *Entry) error {
	d, err := r.take(e.Index, 20, "ima template digest")
	if err != nil {
		return err
	}
	n, err := r.length(e.Index, "ima template file name", legacyNameSize-1)
	if err != nil {
		return err
	}
	name, err := r.take(e.Index, n, "ima template file name")
	if err != nil {
		return err
	}
	e.TemplateData = make([]byte, 20+legacyNameSize)
	copy(e.TemplateData, d)
	copy(e.TemplateData[20:], name)
	e.Fields = []Field{{ID: "d", Data: d}, {ID: "n", Data: name}}
	e.DigestAlg, e.Digest, e.Path = "sha1", d, string(name)
	return nil
}

// templateData reads the length-prefixed template data and splits it into
// its length-prefixed fields.
func (r *reader) templateData(e *Entry) error {
	n, err := r.length(e.Index, "template data", MaxEntrySize)
	if err != nil {
		return err
	}
	dataAt := r.off
	data, err := r.take(e.Index, n, "template data")
	if err != nil {
		return err
	}
	e.TemplateData = data
	ids := templateFields(e.Template)
	fr := reader{b: data, base: r.base + uint64(dataAt)}
	var at [16]int // offset in r.b of each of the first fields, for errors
	e.Fields = r.fields(len(ids))
	for i := 0; fr.off < len(data); i++ {
		if i < len(at) {
			at[i] = dataAt + fr.off
		}
		fn, err := fr.length(e.Index, "field", len(data))
		if err == nil {
			var fd []byte
			fd, err = fr.take(e.Index, fn, "field")
			e.Fields = append(e.Fields, Field{Data: fd})
		}
		if err != nil {
			err.(*ParseError).Msg = fmt.Sprintf("field %d", i) + strings.TrimPrefix(err.(*ParseError).Msg, "field")
			return err
		}
		f := &e.Fields[len(e.Fields)-1]
		if i < len(ids) {
			f.ID = ids[i]
		}
	}
	if ids != nil && len(e.Fields) != len(ids) {
		return r.fail(e.Index, dataAt, fmt.Sprintf("template %s has %d fields, the data holds %d",
			e.Template, len(ids), len(e.Fields)))
	}
	if i, err := decodeFields(e); err != nil {
		return r.fail(e.Index, at[min(i, len(at)-1)], err.Error())
	}
	return nil
}
