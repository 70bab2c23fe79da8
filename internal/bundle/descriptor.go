package bundle

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Bounds on descriptors. A real ESXi VIB carries a handful of payloads; the
// bounds leave wide room and keep a hostile file from costing much.
const (
	MaxDescriptorBytes = 256 << 10
	MaxPayloads        = 256
	maxNameLen         = 128
	maxVendorLen       = 128
	maxPayloadSize     = 1 << 40
)

// Descriptor says what a bundle is and what it carries. Its JSON encoding,
// with the fields in the order below, is what gets signed (Canonical).
type Descriptor struct {
	Name       string     `json:"name"`
	Version    string     `json:"version"`
	Vendor     string     `json:"vendor"`
	Acceptance Acceptance `json:"acceptance"`
	Payloads   []Payload  `json:"payloads"`
}

// Payload is one boot-time file of a bundle (a kernel module, a tardisk):
// its name, as the boot loader loads it, its size and its digests in
// lowercase hex.
type Payload struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// NewPayload describes data under the given name.
func NewPayload(name string, data []byte) Payload {
	s256 := sha256.Sum256(data)
	s512 := sha512.Sum512(data)
	return Payload{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}
}

// Payload returns the payload with the given name.
func (d *Descriptor) Payload(name string) (Payload, bool) {
	for _, p := range d.Payloads {
		if p.Name == name {
			return p, true
		}
	}
	return Payload{}, false
}

// Validate checks every field and returns the first problem, naming the
// field.
func (d *Descriptor) Validate() error {
	if err := checkToken("name", d.Name, maxNameLen); err != nil {
		return err
	}
	if err := checkToken("version", d.Version, maxNameLen); err != nil {
		return err
	}
	if err := checkText("vendor", d.Vendor, maxVendorLen); err != nil {
		return err
	}
	if !d.Acceptance.Valid() {
		return fmt.Errorf("acceptance: missing or invalid level %d", int(d.Acceptance))
	}
	if len(d.Payloads) == 0 {
		return errors.New("payloads: a bundle carries at least one payload")
	}
	if len(d.Payloads) > MaxPayloads {
		return fmt.Errorf("payloads: %d payloads, at most %d", len(d.Payloads), MaxPayloads)
	}
	seen := make(map[string]bool, len(d.Payloads))
	for i, p := range d.Payloads {
		if err := checkToken(fmt.Sprintf("payloads[%d].name", i), p.Name, maxNameLen); err != nil {
			return err
		}
		if p.Name[0] == '.' {
			return fmt.Errorf("payloads[%d].name: %q starts with a dot", i, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("payloads[%d].name: duplicate payload %q", i, p.Name)
		}
		seen[p.Name] = true
		if p.Size < 0 || p.Size > maxPayloadSize {
			return fmt.Errorf("payloads[%d] (%s).size: %d out of range", i, p.Name, p.Size)
		}
		if err := checkHex(fmt.Sprintf("payloads[%d] (%s).sha256", i, p.Name), p.SHA256, sha256.Size); err != nil {
			return err
		}
		if err := checkHex(fmt.Sprintf("payloads[%d] (%s).sha512", i, p.Name), p.SHA512, sha512.Size); err != nil {
			return err
		}
	}
	return nil
}

// Canonical returns the bytes that are signed: the JSON encoding with the
// fields in declaration order, no insignificant space. It validates first.
func (d *Descriptor) Canonical() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return json.Marshal(d)
}

// ParseDescriptor reads a descriptor strictly: one JSON object, no unknown
// fields, no trailing data, every field valid.
func ParseDescriptor(b []byte) (*Descriptor, error) {
	if len(b) > MaxDescriptorBytes {
		return nil, fmt.Errorf("descriptor: %d bytes, at most %d", len(b), MaxDescriptorBytes)
	}
	var d Descriptor
	if err := decodeStrict(b, &d); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return &d, nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonErr(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON object at byte %d", dec.InputOffset())
	}
	return nil
}

// jsonErr adds the byte offset to encoding/json's errors where it has one.
func jsonErr(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q at byte %d: want %v, got JSON %s", te.Field, te.Offset, te.Type, te.Value)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("empty input (%d bytes)", len(b))
	}
	return err
}

// checkToken allows names that are safe as file names and in logs:
// letters, digits and . _ + - only.
func checkToken(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s: missing", field)
	}
	if len(s) > max {
		return fmt.Errorf("%s: %d bytes, at most %d", field, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			return fmt.Errorf("%s: %q has byte %q at %d (allowed: letters, digits, . _ + -)", field, s, c, i)
		}
	}
	return nil
}

// checkText allows printable ASCII, for a vendor's display name.
func checkText(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s: missing", field)
	}
	if len(s) > max {
		return fmt.Errorf("%s: %d bytes, at most %d", field, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("%s: %q has byte 0x%02x at %d (allowed: printable ASCII)", field, s, s[i], i)
		}
	}
	return nil
}

func checkHex(field, s string, size int) error {
	if len(s) != 2*size {
		return fmt.Errorf("%s: %d hex digits, want %d", field, len(s), 2*size)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%s: byte %q at %d is not a lowercase hex digit", field, c, i)
		}
	}
	return nil
}
