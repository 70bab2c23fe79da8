package bundle

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"sort"
)

// PayloadError names the payload that does not match its descriptor and
// what differs. It wraps ErrPayloadMismatch.
type PayloadError struct {
	Bundle  string // the descriptor's name
	Payload string
	Field   string // "missing", "unexpected", "size", "sha256" or "sha512"
	Want    string
	Got     string
}

func (e *PayloadError) Error() string {
	switch e.Field {
	case "missing":
		return fmt.Sprintf("bundle %s: payload %q is in the descriptor but was not supplied", e.Bundle, e.Payload)
	case "unexpected":
		return fmt.Sprintf("bundle %s: payload %q is not in the descriptor", e.Bundle, e.Payload)
	}
	return fmt.Sprintf("bundle %s: payload %q: %s is %s, descriptor says %s", e.Bundle, e.Payload, e.Field, e.Got, e.Want)
}

func (e *PayloadError) Unwrap() error { return ErrPayloadMismatch }

// VerifyPayloads checks that payloads holds exactly the descriptor's payloads
// and that each has the described size, SHA-256 and SHA-512. It reports the
// first difference in the descriptor's order (unexpected extras last, by name).
func VerifyPayloads(d *Descriptor, payloads map[string][]byte) error {
	for _, p := range d.Payloads {
		data, ok := payloads[p.Name]
		if !ok {
			return &PayloadError{Bundle: d.Name, Payload: p.Name, Field: "missing"}
		}
		if int64(len(data)) != p.Size {
			return &PayloadError{Bundle: d.Name, Payload: p.Name, Field: "size", Want: fmt.Sprint(p.Size), Got: fmt.Sprint(len(data))}
		}
		s256 := sha256.Sum256(data)
		if got := hex.EncodeToString(s256[:]); got != p.SHA256 {
			return &PayloadError{Bundle: d.Name, Payload: p.Name, Field: "sha256", Want: p.SHA256, Got: got}
		}
		s512 := sha512.Sum512(data)
		if got := hex.EncodeToString(s512[:]); got != p.SHA512 {
			return &PayloadError{Bundle: d.Name, Payload: p.Name, Field: "sha512", Want: p.SHA512, Got: got}
		}
	}
	var extra []string
	for name := range payloads {
		if _, ok := d.Payload(name); !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return &PayloadError{Bundle: d.Name, Payload: extra[0], Field: "unexpected"}
	}
	return nil
}
