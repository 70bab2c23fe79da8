package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits on what Parse accepts. Real logs are tens of kilobytes with a few
// hundred events; the limits leave two orders of magnitude of headroom while
// bounding the work an attacker can make the verifier do.
const (
	// MaxLogSize is the largest log Parse reads, in bytes.
	MaxLogSize = 16 << 20
	// MaxEvents is the most events (header included) Parse accepts.
	MaxEvents = 65536
	// maxBanks bounds the algorithms a Spec ID event may declare; a TPM
	// implements a handful.
	maxBanks = 16
	// maxDigestSize bounds the size declared for an algorithm Go does not
	// know; TPM 2.0 digests are at most 64 bytes (SHA-512).
	maxDigestSize = 64
)

// Log formats, as Log.Format spells them.
const (
	FormatCryptoAgile = "crypto-agile"
	FormatSHA1Legacy  = "sha1-legacy"
)

// Sentinel errors a caller may branch on. Parse wraps them in a *ParseError
// that says where in the log the problem is.
var (
	// ErrTooLarge: the log is over MaxLogSize bytes or MaxEvents events.
	ErrTooLarge = errors.New("event log too large")
	// ErrTruncated: an event runs past the end of the log.
	ErrTruncated = errors.New("event truncated")
	// ErrMalformed: a field holds a value the format forbids.
	ErrMalformed = errors.New("malformed event")
)

// ParseError says which event of a log could not be read and where it starts.
type ParseError struct {
	Index  int // event index, the header being event 0
	Offset int // byte offset of the event's first byte
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("event %d at offset %d: %v", e.Index, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Log is a parsed event log. Nothing in it is trusted: see Verified. A Log
// is never modified after Parse, so it is safe for concurrent use.
type Log struct {
	// Banks are the algorithms the Spec ID event declares, in its order, or
	// [SHA1] for a legacy log. Banks may hold algorithms Go cannot hash
	// (SM3); their digests are kept but cannot be replayed.
	Banks []Alg
	// Format is FormatCryptoAgile or FormatSHA1Legacy.
	Format string
	// Events are all events in log order; Events[i].Index == i. In a
	// crypto-agile log Events[0] is the Spec ID header event. Digest values
	// and Data are slices of the bytes given to Parse: the caller must not
	// modify those bytes while the Log is in use.
	Events []Event
}

// specAlg is one algorithm of the Spec ID event with its declared size.
type specAlg struct {
	alg  Alg
	size int
}

// Parse reads a TCG event log: crypto-agile (TCG PC Client PFP §10.2.1, a
// SHA-1 format Spec ID Event03 header, then TCG_PCR_EVENT2 entries) or legacy
// SHA-1 (every entry a TCG_PCClientPCREvent). It checks structure only; it
// verifies no digest. Errors are *ParseError values naming the event and byte
// offset, wrapping ErrTooLarge, ErrTruncated or ErrMalformed.
func Parse(b []byte) (*Log, error) {
	if len(b) > MaxLogSize {
		return nil, &ParseError{Index: 0, Offset: 0, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxLogSize)}
	}
	if len(b) == 0 {
		return nil, &ParseError{Index: 0, Offset: 0, Err: fmt.Errorf("%w: empty log", ErrTruncated)}
	}
	p := parser{b: b}
	// The first event is always in the SHA-1 format (PFP §10.4.5.1).
	first, next, err := p.sha1Event(0, 0, nil)
	if err != nil {
		return nil, err
	}
	l := &Log{}
	if isSpecIDEvent(first) {
		algs, err := parseSpecID(first.Data)
		if err != nil {
			return nil, &ParseError{Index: 0, Offset: 0, Err: fmt.Errorf("%w: spec ID event: %v", ErrMalformed, err)}
		}
		if first.PCR != 0 {
			return nil, &ParseError{Index: 0, Offset: 0, Err: fmt.Errorf("%w: spec ID event in PCR %d, want 0", ErrMalformed, first.PCR)}
		}
		p.algs = algs
		p.agile = true
		l.Format = FormatCryptoAgile
		for _, a := range algs {
			l.Banks = append(l.Banks, a.alg)
		}
	} else {
		if err := checkPCR(first); err != nil {
			return nil, &ParseError{Index: 0, Offset: 0, Err: err}
		}
		l.Format = FormatSHA1Legacy
		l.Banks = []Alg{SHA1}
	}
	p.start = next

	// First pass: validate every event and count them without keeping
	// anything, so a log of a million tiny events costs no allocation.
	n, err := p.walk(nil, nil)
	if err != nil {
		return nil, err
	}
	// Second pass: fill exactly sized slices, one backing array for all
	// digests (the verifier's hot path: two allocations per log).
	perEvent := len(p.algs)
	if !p.agile {
		perEvent = 1
	}
	l.Events = make([]Event, n+1)
	digests := make([]Digest, len(first.Digests)+n*perEvent)
	l.Events[0] = first
	l.Events[0].Digests = digests[:len(first.Digests):len(first.Digests)]
	copy(l.Events[0].Digests, first.Digests)
	if _, err := p.walk(l.Events[1:], digests[len(first.Digests):]); err != nil {
		return nil, err // unreachable: the first pass accepted the same bytes
	}
	return l, nil
}

// parser holds the state shared by both passes.
type parser struct {
	b     []byte
	start int // offset of event 1
	agile bool
	algs  []specAlg
}

// walk reads events 1..n from p.start. With out == nil it only validates and
// counts; otherwise it fills out (len n) with digests carved from dst.
func (p *parser) walk(out []Event, dst []Digest) (n int, err error) {
	off := p.start
	var scratch [maxBanks]Digest
	for off < len(p.b) {
		if isZeroPadding(p.b[off:]) {
			// Some firmware hands the OS its log area, zero-filled past the
			// last event (seen in real logs); nothing follows.
			break
		}
		idx := n + 1
		if idx >= MaxEvents {
			return 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: more than %d events", ErrTooLarge, MaxEvents)}
		}
		var ds []Digest
		if out == nil {
			ds = scratch[:0]
		} else {
			ds = dst[:0:len(dst)]
		}
		var e Event
		var next int
		if p.agile {
			e, next, err = p.agileEvent(idx, off, ds)
		} else {
			e, next, err = p.sha1Event(idx, off, ds)
		}
		if err != nil {
			return 0, err
		}
		if err := checkPCR(e); err != nil {
			return 0, &ParseError{Index: idx, Offset: off, Err: err}
		}
		if out != nil {
			e.Digests = e.Digests[:len(e.Digests):len(e.Digests)]
			out[n] = e
			dst = dst[len(e.Digests):]
		}
		n++
		off = next
	}
	return n, nil
}

// isZeroPadding reports whether the rest of the log is zero bytes. An event
// of all zeros cannot be valid in a crypto-agile log (zero digests for
// declared banks) and is never logged by firmware in a legacy one.
func isZeroPadding(rest []byte) bool {
	for _, c := range rest {
		if c != 0 {
			return false
		}
	}
	return true
}

// noActionPCRs are PCR indices outside 0..23 that real firmware puts on
// EV_NO_ACTION events, which are never extended: Windows logs end with one
// on 0xFFFFFFFF.
var noActionPCRs = map[uint32]bool{0xFFFFFFFF: true}

func checkPCR(e Event) error {
	if e.PCR >= 0 && e.PCR <= 23 {
		return nil
	}
	if e.Type == EvNoAction && noActionPCRs[uint32(e.PCR)] {
		return nil
	}
	return fmt.Errorf("%w: PCR index %d out of range 0-23 for %v", ErrMalformed, uint32(e.PCR), e.Type)
}

// sha1Event reads a TCG_PCClientPCREvent: pcrIndex, eventType, a SHA-1
// digest, eventSize and event data (PFP §10.2.1).
func (p *parser) sha1Event(idx, off int, ds []Digest) (Event, int, error) {
	const hdr = 4 + 4 + 20 + 4
	b := p.b
	if len(b)-off < hdr {
		return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: %d bytes left, SHA-1 event header needs %d", ErrTruncated, len(b)-off, hdr)}
	}
	pcr := binary.LittleEndian.Uint32(b[off:])
	typ := binary.LittleEndian.Uint32(b[off+4:])
	size := binary.LittleEndian.Uint32(b[off+28:])
	start := off + hdr
	if uint64(size) > uint64(len(b)-start) {
		return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: event data size %d, %d bytes left", ErrTruncated, size, len(b)-start)}
	}
	end := start + int(size)
	ds = append(ds, Digest{Alg: SHA1, Value: b[off+8 : off+28 : off+28]})
	return Event{Index: idx, Offset: off, PCR: int(pcr), Type: EventType(typ), Digests: ds, Data: b[start:end:end]}, end, nil
}

// agileEvent reads a TCG_PCR_EVENT2: pcrIndex, eventType, TPML_DIGEST_VALUES
// (count, then algorithm ID and digest per bank), eventSize, event data.
func (p *parser) agileEvent(idx, off int, ds []Digest) (Event, int, error) {
	b := p.b
	trunc := func(what string, need, at int) error {
		return &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", ErrTruncated, what, need, at, len(b)-at)}
	}
	if len(b)-off < 12 {
		return Event{}, 0, trunc("event header", 12, off)
	}
	pcr := binary.LittleEndian.Uint32(b[off:])
	typ := binary.LittleEndian.Uint32(b[off+4:])
	count := binary.LittleEndian.Uint32(b[off+8:])
	// Firmware logs a digest for every declared bank, but real logs hold
	// events with fewer (Windows boot manager events on PCRs 11-14 carry only
	// the banks it uses). A subset is accepted; replaying a bank that an
	// event lacks fails for that PCR.
	if count == 0 || count > uint32(len(p.algs)) {
		return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: %d digests, the log declares %d banks", ErrMalformed, count, len(p.algs))}
	}
	at := off + 12
	for i := 0; i < int(count); i++ {
		if len(b)-at < 2 {
			return Event{}, 0, trunc("digest algorithm", 2, at)
		}
		alg := Alg(binary.LittleEndian.Uint16(b[at:]))
		size := -1
		for _, a := range p.algs {
			if a.alg == alg {
				size = a.size
				break
			}
		}
		if size < 0 {
			return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: digest %d has algorithm %v, not declared by the spec ID event", ErrMalformed, i, alg)}
		}
		for _, d := range ds {
			if d.Alg == alg {
				return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: two %v digests", ErrMalformed, alg)}
			}
		}
		at += 2
		if len(b)-at < size {
			return Event{}, 0, trunc(alg.String()+" digest", size, at)
		}
		ds = append(ds, Digest{Alg: alg, Value: b[at : at+size : at+size]})
		at += size
	}
	if len(b)-at < 4 {
		return Event{}, 0, trunc("event size", 4, at)
	}
	size := binary.LittleEndian.Uint32(b[at:])
	at += 4
	if uint64(size) > uint64(len(b)-at) {
		return Event{}, 0, &ParseError{Index: idx, Offset: off, Err: fmt.Errorf("%w: event data size %d, %d bytes left", ErrTruncated, size, len(b)-at)}
	}
	end := at + int(size)
	return Event{Index: idx, Offset: off, PCR: int(pcr), Type: EventType(typ), Digests: ds, Data: b[at:end:end]}, end, nil
}

var specIDSignature = []byte("Spec ID Event03\x00")

func isSpecIDEvent(e Event) bool {
	return e.Type == EvNoAction && bytes.HasPrefix(e.Data, specIDSignature)
}

// parseSpecID reads a TCG_EfiSpecIDEvent (PFP §10.4.5.1): signature,
// platformClass, version, uintnSize, the algorithms with their digest sizes,
// and vendor info, which must fill the rest of the event exactly.
func parseSpecID(d []byte) ([]specAlg, error) {
	const fixed = 16 + 4 + 4 + 4
	if len(d) < fixed {
		return nil, fmt.Errorf("%d bytes, need at least %d", len(d), fixed)
	}
	if major, minor := d[21], d[20]; major != 2 || minor != 0 {
		return nil, fmt.Errorf("spec version %d.%d, want 2.0", major, minor)
	}
	n := binary.LittleEndian.Uint32(d[24:])
	if n == 0 || n > maxBanks {
		return nil, fmt.Errorf("%d algorithms declared, want 1 to %d", n, maxBanks)
	}
	at := fixed
	if uint64(len(d)-at) < uint64(n)*4+1 {
		return nil, fmt.Errorf("%d algorithms declared in %d bytes", n, len(d)-at)
	}
	algs := make([]specAlg, 0, n)
	for i := 0; i < int(n); i++ {
		a := Alg(binary.LittleEndian.Uint16(d[at:]))
		size := int(binary.LittleEndian.Uint16(d[at+2:]))
		at += 4
		if want := a.Size(); want != 0 && size != want {
			return nil, fmt.Errorf("algorithm %v declared with %d-byte digests, want %d", a, size, want)
		}
		if size == 0 || size > maxDigestSize {
			return nil, fmt.Errorf("algorithm %v declared with %d-byte digests", a, size)
		}
		for _, prev := range algs {
			if prev.alg == a {
				return nil, fmt.Errorf("algorithm %v declared twice", a)
			}
		}
		algs = append(algs, specAlg{alg: a, size: size})
	}
	vendor := int(d[at])
	at++
	if len(d)-at != vendor {
		return nil, fmt.Errorf("vendor info size %d, %d bytes left in the event", vendor, len(d)-at)
	}
	return algs, nil
}
