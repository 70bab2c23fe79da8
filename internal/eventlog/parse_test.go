package eventlog_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
)

var twoBanks = []eventlog.Alg{eventlog.SHA256, eventlog.SHA512}

// writeLog builds a crypto-agile log with eventlog.Writer.
func writeLog(t testing.TB, banks []eventlog.Alg, events ...testEvent) []byte {
	t.Helper()
	w := eventlog.NewWriter(banks)
	for _, e := range events {
		ds := e.digests
		if ds == nil {
			ds = eventlog.Digests(banks, e.data)
		}
		if err := w.Append(e.pcr, e.typ, ds, e.data); err != nil {
			t.Fatal(err)
		}
	}
	return w.Bytes()
}

type testEvent struct {
	pcr     int
	typ     eventlog.EventType
	data    []byte
	digests []eventlog.Digest // nil: the hash of data in every bank
}

func TestParseRoundTrip(t *testing.T) {
	events := []testEvent{
		{pcr: 0, typ: eventlog.EvSCRTMVersion, data: []byte("bootproof firmware 1.0\x00")},
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: []byte("SecureBoot variable")},
		{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: []byte{}},
		{pcr: 7, typ: eventlog.EvSeparator, data: []byte{0, 0, 0, 0}},
	}
	b := writeLog(t, twoBanks, events...)
	l, err := eventlog.Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if l.Format != eventlog.FormatCryptoAgile {
		t.Errorf("Format = %q", l.Format)
	}
	if diff := cmp.Diff(twoBanks, l.Banks); diff != "" {
		t.Errorf("Banks (-want +got):\n%s", diff)
	}
	if len(l.Events) != len(events)+1 {
		t.Fatalf("%d events, want %d (header included)", len(l.Events), len(events)+1)
	}
	if h := l.Events[0]; h.Type != eventlog.EvNoAction || h.Offset != 0 {
		t.Errorf("event 0 = %v at %d, want the EV_NO_ACTION header at 0", h.Type, h.Offset)
	}
	for i, want := range events {
		got := l.Events[i+1]
		if got.Index != i+1 || got.PCR != want.pcr || got.Type != want.typ || !bytes.Equal(got.Data, want.data) {
			t.Errorf("event %d = {%d %d %v %q}, want {%d %d %v %q}", i+1, got.Index, got.PCR, got.Type, got.Data, i+1, want.pcr, want.typ, want.data)
		}
		if diff := cmp.Diff(eventlog.Digests(twoBanks, want.data), got.Digests); diff != "" {
			t.Errorf("event %d digests (-want +got):\n%s", i+1, diff)
		}
	}
	// Replay by hand: PCR 7 = H(H(0 || d1) || d2).
	want := make([]byte, 32)
	for _, e := range events {
		if e.pcr == 7 {
			want = eventlog.SHA256.Sum(append(want, eventlog.SHA256.Sum(e.data)...))
		}
	}
	got, err := l.Replay(eventlog.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[7], want) {
		t.Errorf("Replay PCR 7 = %x, want %x", got[7], want)
	}
	if _, ok := got[1]; ok {
		t.Errorf("Replay returned PCR 1, which has no events")
	}
}

// legacyEvent encodes a TCG_PCClientPCREvent.
func legacyEvent(pcr uint32, typ eventlog.EventType, digest [20]byte, data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, pcr)
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(b, digest[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func sha1Of(data []byte) (d [20]byte) {
	copy(d[:], eventlog.SHA1.Sum(data))
	return d
}

func TestParseLegacy(t *testing.T) {
	b := append(legacyEvent(0, eventlog.EvSCRTMVersion, sha1Of([]byte("v1")), []byte("v1")),
		legacyEvent(4, eventlog.EvSeparator, sha1Of([]byte{0, 0, 0, 0}), []byte{0, 0, 0, 0})...)
	l, err := eventlog.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != eventlog.FormatSHA1Legacy || len(l.Events) != 2 || l.Events[1].Offset != 34 {
		t.Fatalf("got %s with %d events, event 1 at %d; want sha1-legacy, 2 events, event 1 at 34", l.Format, len(l.Events), l.Events[1].Offset)
	}
	if _, err := l.Replay(eventlog.SHA256); err == nil {
		t.Errorf("Replay(sha256) of a SHA-1 log succeeded")
	}
}

// TestParseErrors feeds malformed logs and checks the error names the event,
// the offset and the kind of problem.
func TestParseErrors(t *testing.T) {
	good := writeLog(t, twoBanks, testEvent{pcr: 4, typ: eventlog.EvIPL, data: []byte("grub")})
	hdrLen := len(writeLog(t, twoBanks))
	patch := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	oneDigest := writeLog(t, twoBanks)
	oneDigest = binary.LittleEndian.AppendUint32(oneDigest, 4)
	oneDigest = binary.LittleEndian.AppendUint32(oneDigest, uint32(eventlog.EvIPL))
	oneDigest = binary.LittleEndian.AppendUint32(oneDigest, 1)
	oneDigest = binary.LittleEndian.AppendUint16(oneDigest, uint16(eventlog.SHA1))
	tests := []struct {
		name    string
		log     []byte
		wantErr error
		want    string // substring of the message
	}{
		{"empty", nil, eventlog.ErrTruncated, "event 0 at offset 0"},
		{"short header", good[:20], eventlog.ErrTruncated, "event 0 at offset 0"},
		{"truncated data", good[:len(good)-1], eventlog.ErrTruncated, "event 1 at offset " + strconv.Itoa(hdrLen)},
		{"truncated digest", good[:hdrLen+20], eventlog.ErrTruncated, "sha256 digest"},
		{"PCR 24", patch(hdrLen, 24), eventlog.ErrMalformed, "PCR index 24"},
		{"digest count 3", patch(hdrLen+8, 3), eventlog.ErrMalformed, "3 digests, the log declares 2 banks"},
		{"digest count 0", patch(hdrLen+8, 0), eventlog.ErrMalformed, "0 digests"},
		{"undeclared algorithm", oneDigest, eventlog.ErrMalformed, "not declared"},
		{"huge data size", patch(len(good)-4-4, 0xFFFFFFF0), eventlog.ErrTruncated, "event data size"},
		{"spec ID bad version", func() []byte { b := bytes.Clone(good); b[32+21] = 1; return b }(), eventlog.ErrMalformed, "spec version"},
		{"spec ID sha256 of 20 bytes", func() []byte { b := bytes.Clone(good); b[32+28+2] = 20; return b }(), eventlog.ErrMalformed, "declared with 20-byte digests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := eventlog.Parse(tt.log)
			if err == nil {
				t.Fatalf("Parse accepted it: %d events", len(l.Events))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestParseQuirks(t *testing.T) {
	base := writeLog(t, twoBanks, testEvent{pcr: 4, typ: eventlog.EvIPL, data: []byte("grub")})
	t.Run("trailing zero padding", func(t *testing.T) {
		l, err := eventlog.Parse(append(bytes.Clone(base), make([]byte, 4096)...))
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Events) != 2 {
			t.Errorf("%d events, want 2", len(l.Events))
		}
	})
	t.Run("EV_NO_ACTION on PCR 0xFFFFFFFF", func(t *testing.T) {
		w := eventlog.NewWriter(twoBanks)
		zero := []eventlog.Digest{{Alg: eventlog.SHA256, Value: make([]byte, 32)}, {Alg: eventlog.SHA512, Value: make([]byte, 64)}}
		if err := w.Append(-1, eventlog.EvNoAction, zero, []byte("tail")); err != nil {
			t.Fatal(err)
		}
		if _, err := eventlog.Parse(w.Bytes()); err != nil {
			t.Errorf("Parse: %v", err)
		}
		w = eventlog.NewWriter(twoBanks)
		if err := w.Append(-1, eventlog.EvIPL, zero, []byte("tail")); err != nil {
			t.Fatal(err)
		}
		if _, err := eventlog.Parse(w.Bytes()); err == nil {
			t.Errorf("Parse accepted a measured event on PCR 0xFFFFFFFF")
		}
	})
}

// TestParseLimits checks that oversized input is refused before any work.
func TestParseLimits(t *testing.T) {
	t.Run("100 MB buffer", func(t *testing.T) {
		b := make([]byte, 100<<20)
		start := time.Now()
		_, err := eventlog.Parse(b)
		if !errors.Is(err, eventlog.ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
		if d := time.Since(start); d > 10*time.Millisecond {
			t.Errorf("refusing took %v", d)
		}
	})
	// The smallest crypto-agile event (one SHA-1 bank, no data) is 38 bytes.
	w := eventlog.NewWriter([]eventlog.Alg{eventlog.SHA1})
	hdr := len(w.Bytes())
	if err := w.Append(1, eventlog.EvPostCode, []eventlog.Digest{{Alg: eventlog.SHA1, Value: make([]byte, 20)}}, nil); err != nil {
		t.Fatal(err)
	}
	one := w.Bytes()[hdr:]
	logOf := func(n int) []byte {
		return append(bytes.Clone(w.Bytes()[:hdr]), bytes.Repeat(one, n)...)
	}
	for _, tt := range []struct {
		name   string
		events int
		want   string
	}{
		{"1,000,000 events", 1000000, "bytes, limit"},                                          // 38 MB: refused on size
		{"events under the size limit", (eventlog.MaxLogSize - hdr) / len(one), "event 65536"}, // 441,000 events
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := logOf(tt.events)
			var before, after runtimeMem
			before.read()
			start := time.Now()
			_, err := eventlog.Parse(b)
			took := time.Since(start)
			after.read()
			if !errors.Is(err, eventlog.ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if took > 50*time.Millisecond {
				t.Errorf("refusing took %v", took)
			}
			if alloc := after.alloc - before.alloc; alloc > 64<<10 {
				t.Errorf("refusing allocated %d bytes", alloc)
			}
		})
	}
}

// agileEvent encodes a TCG_PCR_EVENT2 with any digests, for logs Writer
// refuses to write.
func agileEvent(pcr uint32, typ eventlog.EventType, ds []eventlog.Digest, data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, pcr)
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ds)))
	for _, d := range ds {
		b = binary.LittleEndian.AppendUint16(b, uint16(d.Alg))
		b = append(b, d.Value...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}
