package ima

import (
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

const benchEntries = 100_000

var benchLog struct {
	once   sync.Once
	raws   []raw
	bin    []byte
	quoted PCRs
}

// benchList is a 100,000-entry ima-ng list with paths of a typical length
// (the median path in a distribution's file list is about 40 bytes).
func benchList() ([]raw, []byte, PCRs) {
	benchLog.once.Do(func() {
		for i := 0; i < benchEntries; i++ {
			benchLog.raws = append(benchLog.raws,
				ngEntry(fmt.Sprintf("/usr/lib/x86_64-linux-gnu/lib%06d.so.1", i), fmt.Sprint(i)))
		}
		benchLog.bin = join(benchLog.raws...)
		benchLog.quoted = quote10(benchLog.raws, ModeBankHash, eventlog.SHA256)
	})
	return benchLog.raws, benchLog.bin, benchLog.quoted
}

// BenchmarkJudgeFull parses a 100,000-entry list and proves it in the
// SHA-256 bank (template hashes checked in SHA-1 too), as a verifier does
// for a host's first attestation of a boot.
func BenchmarkJudgeFull(b *testing.B) {
	_, bin, quoted := benchList()
	b.SetBytes(int64(len(bin)))
	b.ResetTimer()
	for b.Loop() {
		es, err := Parse(bin)
		if err != nil {
			b.Fatal(err)
		}
		if _, n, err := (State{Mode: ModeBankHash}).Prove(es, quoted); err != nil || n != benchEntries {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkJudgeIncremental proves the 50 entries a host added since the
// last attestation, from the state kept after 99,950.
func BenchmarkJudgeIncremental(b *testing.B) {
	raws, bin, quoted := benchList()
	const n = 50
	all := mustParse(b, bin)
	st, _, err := State{Mode: ModeBankHash}.Prove(all[:benchEntries-n],
		quote10(raws[:benchEntries-n], ModeBankHash, eventlog.SHA256))
	if err != nil {
		b.Fatal(err)
	}
	at := Position{Entry: benchEntries - n, Offset: all[benchEntries-n].Offset}
	tail := bin[at.Offset:]
	b.ResetTimer()
	for b.Loop() {
		es, _, err := ParseAt(tail, at)
		if err != nil {
			b.Fatal(err)
		}
		if _, k, err := st.Prove(es, quoted); err != nil || k != n {
			b.Fatal(k, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFloorSHA256 is the physical limit: SHA-256 of each entry's
// template data and nothing else.
func BenchmarkFloorSHA256(b *testing.B) {
	raws, _, _ := benchList()
	b.ResetTimer()
	for b.Loop() {
		for i := range raws {
			_ = sha256.Sum256(raws[i].hashed)
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFloorReplaySHA256 is the least a SHA-256 replay must hash: each
// entry's template data, then the extend H(PCR || digest).
func BenchmarkFloorReplaySHA256(b *testing.B) { floorReplay(b, false) }

// BenchmarkFloorReplayChecked adds the SHA-1 of the template data that
// checks each logged template hash.
func BenchmarkFloorReplayChecked(b *testing.B) { floorReplay(b, true) }

func floorReplay(b *testing.B, checkSHA1 bool) {
	raws, _, _ := benchList()
	b.ResetTimer()
	for b.Loop() {
		var pcr [64]byte
		for i := range raws {
			if checkSHA1 && sha1.Sum(raws[i].hashed) != raws[i].hash {
				b.Fatal("template hash")
			}
			d := sha256.Sum256(raws[i].hashed)
			copy(pcr[32:], d[:])
			v := sha256.Sum256(pcr[:])
			copy(pcr[:32], v[:])
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
