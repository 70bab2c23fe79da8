package quote

import (
	"encoding/binary"
	"fmt"
)

// ParseError says which field of which structure was wrong and where. The
// decoders return it for every malformed input, so callers can use
// errors.As to report the field.
type ParseError struct {
	Struct  string // "TPMS_ATTEST", "TPMT_SIGNATURE" or "TPMT_PUBLIC"
	Field   string // the spec's field name, e.g. "extraData" or "pcrSelections[1].sizeofSelect"
	Offset  int    // byte offset of the field in the input
	Problem string // what is wrong with it
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: %s at offset %d: %s", e.Struct, e.Field, e.Offset, e.Problem)
}

// reader walks one structure. It lives on the caller's stack and allocates
// nothing unless it fails: the decoders' happy path is a handful of bounds
// checks and big-endian loads.
type reader struct {
	b    []byte
	off  int
	name string
}

// failAt builds the error for field at byte off. Only failing paths call it,
// so formatting costs nothing on good input.
func (r *reader) failAt(off int, field, format string, args ...any) error {
	return &ParseError{Struct: r.name, Field: field, Offset: off, Problem: fmt.Sprintf(format, args...)}
}

func (r *reader) left() int { return len(r.b) - r.off }

// take returns the next n bytes. The slice's capacity is cut to n so that a
// caller appending to it can never overwrite the rest of the input.
func (r *reader) take(field string, n int) ([]byte, error) {
	if n > r.left() {
		return nil, r.failAt(r.off, field, "needs %d bytes, %d left", n, r.left())
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) u8(field string) (uint8, error) {
	s, err := r.take(field, 1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (r *reader) u16(field string) (uint16, error) {
	s, err := r.take(field, 2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(s), nil
}

func (r *reader) u32(field string) (uint32, error) {
	s, err := r.take(field, 4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(s), nil
}

func (r *reader) u64(field string) (uint64, error) {
	s, err := r.take(field, 8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(s), nil
}

// sized reads a TPM2B: a big-endian uint16 size, then that many bytes. The
// error's offset is the size field's, where the wrong length was written.
func (r *reader) sized(field string) ([]byte, error) {
	at := r.off
	if r.left() < 2 {
		return nil, r.failAt(at, field, "size needs 2 bytes, %d left", r.left())
	}
	n := int(binary.BigEndian.Uint16(r.b[at:]))
	r.off += 2
	if n > r.left() {
		return nil, r.failAt(at, field, "size %d exceeds the %d bytes left", n, r.left())
	}
	return r.take(field, n)
}

// end refuses trailing bytes: a signature covers the exact bytes of a
// TPMS_ATTEST, so bytes the decoder skipped would be signed but unread.
func (r *reader) end() error {
	if r.left() != 0 {
		return r.failAt(r.off, "end", "trailing bytes after the structure: %d", r.left())
	}
	return nil
}
