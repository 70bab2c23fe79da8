package eventlog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// corpusLogs returns the raw logs of the shared corpus, or nil when it is
// absent (fuzzing then starts from testdata/fuzz only).
func corpusLogs(tb testing.TB) [][]byte {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
		} else {
			return nil
		}
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "shared", "testdata", "eventlogs", "*", "*", "eventlog.bin"))
	var out [][]byte
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// FuzzParse checks that no input makes Parse or the replays panic or break
// the Log's invariants.
func FuzzParse(f *testing.F) {
	for _, b := range corpusLogs(f) {
		f.Add(b)
	}
	f.Add(writeLog(f, twoBanks, testEvent{pcr: 0, typ: eventlog.EvNoAction, data: []byte("StartupLocality\x00\x03"), digests: zeroDigests(twoBanks)},
		testEvent{pcr: 0, typ: eventlog.EvEFIHCRTMEvent, data: []byte("HCRTM")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := eventlog.Parse(b)
		if err != nil {
			if l != nil {
				t.Fatalf("Parse returned a log and an error")
			}
			return
		}
		prev := -1
		for i, e := range l.Events {
			if e.Index != i || e.Offset <= prev || e.Offset >= len(b) {
				t.Fatalf("event %d: Index %d Offset %d after %d", i, e.Index, e.Offset, prev)
			}
			prev = e.Offset
		}
		zero := map[int][]byte{}
		for _, bank := range l.Banks {
			if _, ok := bank.Hash(); !ok {
				continue
			}
			vals, err := l.Replay(bank)
			if err != nil {
				continue
			}
			for pcr := 0; pcr < eventlog.NumPCRs; pcr++ {
				zero[pcr] = make([]byte, bank.Size())
			}
			if _, err := l.Verified(bank, vals); err != nil {
				if len(vals) > 0 {
					t.Fatalf("Verified(%v) against its own replay: %v", bank, err)
				}
			}
			_, _ = l.ReplayAgainst(bank, zero)
		}
	})
}
