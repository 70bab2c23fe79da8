package verifier

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The JSON the verifier stores for each attestation (the verdict blob,
// the evidence record and its PCR values' blob) is written by hand, in
// exactly the bytes encoding/json writes for the same values: blobs are
// deduplicated by their SHA-256, so a byte that differed would store every
// host's verdict again, and golden tests pin the bytes. encoding/json spent
// most of its time on reflection and on sorting map keys through
// reflect.Value (a verdict's components carry a digest map each, and the
// quoted PCR values are 4 banks of 24), about 8% of a fleet verifier's CPU.
// verdictjson.go and evidencejson.go hold the encoders; their tests compare
// them with encoding/json byte for byte, and fail when a field is added to
// an encoded type that the encoder does not know.

// encBuffers are scratch buffers for the encoders: each record is encoded
// into one, then copied out at its exact size.
var encBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// maxPooledEnc is the largest scratch buffer kept for reuse; a verdict of
// the emulated chain is about 16 KB.
const maxPooledEnc = 256 << 10

// encodeWith runs enc on a scratch buffer and returns a copy of what it
// wrote, so the result holds no more memory than it needs and the buffer
// goes back to the pool.
func encodeWith(enc func([]byte) []byte) []byte {
	bp := encBuffers.Get().(*[]byte)
	b := enc((*bp)[:0])
	out := bytes.Clone(b)
	if cap(b) <= maxPooledEnc {
		*bp = b[:0]
		encBuffers.Put(bp)
	}
	return out
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json's
// Marshal does (encode.go appendString with HTML escaping on): <, > and &
// as \u003c and so on, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if htmlSafeSet[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// htmlSafeSet holds the bytes encoding/json writes as they are in a
// string (its htmlSafeSet, here over all 256 so that appendString tests
// one table per byte): printable ASCII, DEL included, but for ", \, <, >
// and &.
// Bytes from 0x80 on start a UTF-8 sequence, which appendString checks.
var htmlSafeSet = func() (set [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		set[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return set
}()

// appendStrings appends a []string as encoding/json does: null for nil.
func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendBytes appends a []byte as encoding/json does: standard base64 in
// quotes, null for nil.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendKey appends "name": for a field whose name needs no escaping.
func appendKey(dst []byte, name string) []byte {
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// appendNextKey appends the comma before a member that is not an object's
// first, and its key.
func appendNextKey(dst []byte, name string) []byte {
	return appendKey(append(dst, ','), name)
}

// sortedKeys appends m's keys to keys in the order encoding/json writes
// them. Callers pass a buffer on their stack: the maps here have a few
// keys (banks), and each verdict component has one.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendIntMap appends a map with int keys as encoding/json writes it:
// ordered by the keys' decimal strings ("10" before "2"), each value
// written by appendValue; null for nil.
func appendIntMap[V any](dst []byte, m map[int]V, appendValue func([]byte, V) []byte) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	// PCR indices, the only int keys here, are below smallKeys: placed by
	// index, they come out in order without sorting or looking up.
	var vals [smallKeys]V
	var present uint64
	for k, v := range m {
		if k < 0 || k >= smallKeys {
			return appendSortedIntMap(dst, m, appendValue)
		}
		vals[k], present = v, present|1<<k
	}
	first := true
	for _, k := range smallKeyOrder {
		if present&(1<<k) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, int64(k), 10)
		dst = append(dst, '"', ':')
		dst = appendValue(dst, vals[k])
	}
	return append(dst, '}')
}

// smallKeys bounds the keys appendIntMap places by index: a PC Client
// TPM has 24 PCRs.
const smallKeys = 64

// smallKeyOrder is 0 to smallKeys-1 in the order of their decimal strings.
var smallKeyOrder = func() []uint8 {
	order := make([]uint8, smallKeys)
	for i := range order {
		order[i] = uint8(i)
	}
	slices.SortFunc(order, func(a, b uint8) int {
		return strings.Compare(strconv.Itoa(int(a)), strconv.Itoa(int(b)))
	})
	return order
}()

// appendSortedIntMap is appendIntMap's way for any keys, after the '{':
// sorting their decimal strings as encoding/json does.
func appendSortedIntMap[V any](dst []byte, m map[int]V, appendValue func([]byte, V) []byte) []byte {
	type key struct {
		k int
		s string
	}
	keys := make([]key, 0, len(m))
	for k := range m {
		keys = append(keys, key{k, strconv.Itoa(k)})
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.s, b.s) })
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k.s)
		dst = append(dst, ':')
		dst = appendValue(dst, m[k.k])
	}
	return append(dst, '}')
}
