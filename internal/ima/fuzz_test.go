package ima

import (
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// FuzzParse feeds arbitrary bytes to the parser and the replay: they must
// answer with entries or an error, never panic, and what parses must parse
// the same from any entry's position.
func FuzzParse(f *testing.F) {
	f.Add(join(sampleLog()...))
	f.Add(entryOf(10, "evm-sig", false, dng("sha256", nil), nng("/e"), nil, []byte("a|b"),
		append(le32(1), le32(1)...), []byte("xy"), le32(0), le32(0), []byte{0, 0}).bin)
	f.Add(entryOf(10, "ima-modsig", false, dng("sha256", nil), nng("/m"), nil, nil, nil).bin)
	f.Add(entryOf(10, "ima-ngv2", false, dng("verity:sha256", nil), nng("/v")).bin)
	f.Add(legacyEntry("/init", "x").bin)
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := Parse(b)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
		for i, e := range es {
			if e.Index != uint64(i) || e.Offset >= uint64(len(b)) {
				t.Fatalf("entry %d: index %d offset %d of %d bytes", i, e.Index, e.Offset, len(b))
			}
		}
		if len(es) > 0 && err == nil {
			last := es[len(es)-1]
			tail, _, err := ParseAt(b[last.Offset:], Position{Entry: last.Index, Offset: last.Offset})
			if err != nil || len(tail) != 1 || tail[0].Path != last.Path {
				t.Fatalf("reparse from entry %d: %d entries, %v", last.Index, len(tail), err)
			}
		}
		q := PCRs{eventlog.SHA1: {10: make([]byte, 20)}, eventlog.SHA256: {10: make([]byte, 32)}}
		_, _, _ = State{}.Prove(es, q)
		if len(es) > 0 {
			_, _ = CheckBootAggregate(&es[0], q)
		}
	})
}
