package wire

import (
	"bytes"
	"encoding/base64"
)

// ParseEvidence decodes an Evidence body in the plain form agents write
// (encoding/json's own output, with any whitespace between tokens)
// without reflection: a fifth of encoding/json's CPU and a sixth of its
// allocations for a quote's 4 banks of 24 PCR values, the largest part of
// the body once the event log and bundle files go by hash.
//
// ok is false for anything outside that plain form: a syntax error, a field
// name that is unknown or not spelt in lowercase, a field given twice, a
// string with an escape or a character outside printable ASCII, a value of
// the wrong type, null where the form has none, a PCR index that is not a
// plain non-negative decimal, base64 that does not decode, or anything after
// the object but whitespace. The caller then decodes the body with
// encoding/json (a Decoder with DisallowUnknownFields, then More), which
// accepts or refuses it as it always has. For every body ParseEvidence
// accepts, that decoding gives an equal Evidence (FuzzParseEvidence).
//
// Like encoding/json it checks only the form: nothing in the Evidence is
// believed because it parsed.
func ParseEvidence(data []byte) (ev Evidence, ok bool) {
	p := parser{data: data}
	if !p.evidence(&ev) {
		return Evidence{}, false
	}
	p.space()
	if p.i != len(p.data) {
		return Evidence{}, false
	}
	return ev, true
}

// parser reads one JSON value from data at i.
type parser struct {
	data []byte
	i    int
	// arena holds short decoded values (PCR values, signatures), so that a
	// quote's 96 PCR values take a few allocations rather than 96.
	arena []byte
}

// arenaChunk is the arena's allocation: a quote's PCR values of 4 banks
// (sha1, sha256, sha384, sha512) are 24*164 bytes.
const arenaChunk = 4 << 10

// maxArenaValue is the longest value taken from the arena; longer ones (an
// event log, a bundle file) get their own allocation.
const maxArenaValue = 256

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next returns the next byte after whitespace, without consuming it; 0 at
// the end.
func (p *parser) next() byte {
	p.space()
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

// take consumes c, the next byte after whitespace.
func (p *parser) take(c byte) bool {
	if p.next() != c {
		return false
	}
	p.i++
	return true
}

// null consumes a null literal, if the next value is one.
func (p *parser) null() bool {
	if p.next() != 'n' || !bytes.HasPrefix(p.data[p.i:], []byte("null")) {
		return false
	}
	p.i += len("null")
	return true
}

// plainString reads a string of printable ASCII without escapes and
// returns its contents, which alias data.
func (p *parser) plainString() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			return p.data[start : p.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// base64 reads a string of standard base64, as encoding/json decodes a
// []byte: a non-nil slice, empty for "".
func (p *parser) base64() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	n := bytes.IndexByte(p.data[p.i:], '"')
	if n < 0 {
		return nil, false
	}
	s := p.data[p.i : p.i+n]
	// base64 skips line breaks, which a JSON string may hold only escaped;
	// every other byte outside its alphabet (an escape, a control
	// character, non-ASCII) it refuses.
	if bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	out := p.alloc(base64.StdEncoding.DecodedLen(len(s)))
	m, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, false
	}
	p.i += n + 1
	return out[:m:m], true
}

func (p *parser) alloc(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if n > maxArenaValue {
		return make([]byte, n)
	}
	if cap(p.arena)-len(p.arena) < n {
		p.arena = make([]byte, 0, arenaChunk)
	}
	l := len(p.arena)
	p.arena = p.arena[:l+n]
	// The full slice expression keeps an append to one value from
	// overwriting the next.
	return p.arena[l : l+n : l+n]
}

// bytesOrNull reads a []byte field: base64, or null for nil.
func (p *parser) bytesOrNull() ([]byte, bool) {
	if p.null() {
		return nil, true
	}
	return p.base64()
}

// object reads an object, calling member for each field after its colon
// to read the value.
func (p *parser) object(member func(key []byte) bool) bool {
	if !p.take('{') {
		return false
	}
	if p.take('}') {
		return true
	}
	for {
		key, ok := p.plainString()
		if !ok || !p.take(':') || !member(key) {
			return false
		}
		if p.take('}') {
			return true
		}
		if !p.take(',') {
			return false
		}
	}
}

// array reads an array, calling elem for each element. An empty array is
// reported with elem never called.
func (p *parser) array(elem func() bool) bool {
	if !p.take('[') {
		return false
	}
	if p.take(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.take(']') {
			return true
		}
		if !p.take(',') {
			return false
		}
	}
}

// once records field bit in seen, refusing a field given twice (encoding/json
// would merge the two, which this parser does not copy).
func once(seen *uint16, bit uint16) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (p *parser) evidence(ev *Evidence) bool {
	var seen uint16
	return p.object(func(key []byte) bool {
		ok := false
		switch string(key) {
		case "nonce":
			if ok = once(&seen, 1<<0); ok {
				ev.Nonce, ok = p.bytesOrNull()
			}
		case "tpm_family":
			ok = once(&seen, 1<<1) && p.stringOrNull(&ev.TPMFamily)
		case "quotes":
			ok = once(&seen, 1<<2) && p.quotes(&ev.Quotes)
		case "event_log":
			if ok = once(&seen, 1<<3); ok {
				ev.EventLog, ok = p.bytesOrNull()
			}
		case "event_log_sha256":
			ok = once(&seen, 1<<4) && p.stringOrNull(&ev.EventLogSHA256)
		case "bundles":
			ok = once(&seen, 1<<5) && p.byteSlices(&ev.Bundles)
		case "bundles_sha256":
			ok = once(&seen, 1<<6) && p.strings(&ev.BundlesSHA256)
		}
		return ok
	})
}

// stringOrNull reads a string field; null leaves it as it is, as
// encoding/json does.
func (p *parser) stringOrNull(dst *string) bool {
	if p.null() {
		return true
	}
	s, ok := p.plainString()
	if ok {
		*dst = string(s)
	}
	return ok
}

// quotes reads the quotes array: null for nil, [] for an empty non-nil
// slice, as encoding/json gives.
func (p *parser) quotes(dst *[]Quote) bool {
	if p.null() {
		*dst = nil
		return true
	}
	out := []Quote{}
	ok := p.array(func() bool {
		var q Quote
		if !p.quote(&q) {
			return false
		}
		out = append(out, q)
		return true
	})
	*dst = out
	return ok
}

func (p *parser) quote(q *Quote) bool {
	var seen uint16
	return p.object(func(key []byte) bool {
		ok := false
		switch string(key) {
		case "attest":
			if ok = once(&seen, 1<<0); ok {
				q.Attest, ok = p.bytesOrNull()
			}
		case "signature":
			if ok = once(&seen, 1<<1); ok {
				q.Signature, ok = p.bytesOrNull()
			}
		case "pcrs":
			ok = once(&seen, 1<<2) && p.pcrs(&q.PCRs)
		}
		return ok
	})
}

// pcrs reads a quote's PCR values: banks by name, then values by index.
// A bank or index given twice, or null inside, is left to encoding/json.
func (p *parser) pcrs(dst *map[string]map[int][]byte) bool {
	if p.null() {
		*dst = nil
		return true
	}
	banks := map[string]map[int][]byte{}
	*dst = banks
	return p.object(func(key []byte) bool {
		name := bankName(key)
		if _, dup := banks[name]; dup {
			return false
		}
		// 24 is the PCR count of a TPM 2.0 bank (PC Client profile).
		vals := make(map[int][]byte, 24)
		banks[name] = vals
		return p.object(func(key []byte) bool {
			i, ok := pcrIndex(key)
			if !ok {
				return false
			}
			if _, dup := vals[i]; dup {
				return false
			}
			vals[i], ok = p.base64()
			return ok
		})
	})
}

// bankName returns key as a string, without an allocation for the bank
// names agents send.
func bankName(key []byte) string {
	switch string(key) {
	case "sha1":
		return "sha1"
	case "sha256":
		return "sha256"
	case "sha384":
		return "sha384"
	case "sha512":
		return "sha512"
	case "sm3_256":
		return "sm3_256"
	}
	return string(key)
}

// pcrIndex parses a map key as a PCR index: a decimal without sign or
// leading zero, short enough not to overflow an int. encoding/json reads
// other spellings too ("+7", "07", "-1"); they are left to it.
func pcrIndex(key []byte) (int, bool) {
	if len(key) == 0 || len(key) > 9 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range key {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// byteSlices reads the bundles array: null for nil, [] for an empty
// non-nil slice.
func (p *parser) byteSlices(dst *[][]byte) bool {
	if p.null() {
		*dst = nil
		return true
	}
	out := [][]byte{}
	ok := p.array(func() bool {
		b, ok := p.base64()
		out = append(out, b)
		return ok
	})
	*dst = out
	return ok
}

// strings reads an array of strings: null for nil, [] for an empty
// non-nil slice.
func (p *parser) strings(dst *[]string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	out := []string{}
	ok := p.array(func() bool {
		s, ok := p.plainString()
		out = append(out, string(s))
		return ok
	})
	*dst = out
	return ok
}
