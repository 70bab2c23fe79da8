package appraisal

// Benchmarks on a real 38 KB log (Ubuntu 21.04 on a GCE Shielded VM, from
// the shared corpus): the full appraisal, the floor any appraisal must pay
// (quote signatures, parse, replay of every quoted bank, Secure Boot
// extraction), and go-attestation's ParseEventLog + Verify +
// ParseSecurebootState on the same log.
//
//	go test ./internal/appraisal -run XXX -bench . -benchmem

import (
	"syscall"
	"testing"
	"time"

	"github.com/google/go-attestation/attest"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// cpuTime is the process's user+system CPU time. On a shared machine wall
// time per op swings with other load; CPU time per op (reported as
// cpu-ns/op) is what the comparisons should read.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op to a benchmark whose loop started at start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

const benchCase = "go-tpm-tools/ubuntu-2104-no-secure-boot"

type benchFixture struct {
	c  corpusCase
	in Input
	ak []byte
	// perBank are quotes of one bank each, for go-attestation, whose
	// AKPublic.Verify reads one bank per quote; Appraise gets one quote
	// over all banks, as bootproof's agent sends it.
	perBank map[eventlog.Alg]attest.Quote
}

func loadBench(b *testing.B) *benchFixture {
	b.Helper()
	c := loadCorpusCase(b, corpusRoot(b), benchCase)
	// The log declares SHA-384 too, which the source gives no PCRs for:
	// take them from the log's own SHA-384 digests, as a TPM extending
	// them would hold (the SHA-1 and SHA-256 values are the source's).
	log, err := eventlog.Parse(c.Log)
	if err != nil {
		b.Fatal(err)
	}
	replayed, err := log.Replay(eventlog.SHA384)
	if err != nil {
		b.Fatal(err)
	}
	c.PCRs[eventlog.SHA384] = map[int][]byte{}
	for pcr := range c.PCRs[eventlog.SHA256] {
		v, ok := replayed[pcr]
		if !ok {
			v = make([]byte, eventlog.SHA384.Size())
		}
		c.PCRs[eventlog.SHA384][pcr] = v
	}
	ak := newSoftwareRSAAK(b)
	p := policy.Default()
	p.SecureBootRequired = false
	in := Input{Evidence: corpusEvidence(b, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow}
	v, err := Appraise(in)
	if err != nil {
		b.Fatal(err)
	}
	// Learn the host, so that every reference check runs and holds.
	in.Policy = policy.Learn(v.Components, p)
	if v, err = Appraise(in); err != nil || v.Status != Passed {
		b.Fatalf("bench host does not pass: %v %+v", err, v.Failures())
	}
	f := &benchFixture{c: c, in: in, ak: in.AKPublic, perBank: map[eventlog.Alg]attest.Quote{}}
	for _, bank := range c.PCRs.Banks() {
		q := ak.quote(b, bank, c.PCRs[bank], testNonce, ClockInfo{Clock: 1000, ResetCount: 3})
		f.perBank[bank] = attest.Quote{Quote: q.Attest, Signature: q.Signature}
	}
	return f
}

func BenchmarkAppraise(b *testing.B) {
	f := loadBench(b)
	b.SetBytes(int64(len(f.c.Log)))
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		v, err := Appraise(f.in)
		if err != nil || v.Status != Passed {
			b.Fatal(err, v.Status)
		}
	}
}

// BenchmarkFloor is what any verifier of this evidence must do: check the
// quote's signature (one quote over all banks), parse the log, replay it
// against each quoted bank, and read the Secure Boot state.
func BenchmarkFloor(b *testing.B) {
	f := loadBench(b)
	b.SetBytes(int64(len(f.c.Log)))
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		ak, err := akKey(f.ak)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range f.in.Evidence.Quotes {
			if _, err := verifySignature(ak, q.Attest, q.Signature); err != nil {
				b.Fatal(err)
			}
		}
		log, err := eventlog.Parse(f.c.Log)
		if err != nil {
			b.Fatal(err)
		}
		var evs []eventlog.Event // of the last bank, SHA-384, as Appraise decides on
		for _, bank := range []eventlog.Alg{eventlog.SHA1, eventlog.SHA256, eventlog.SHA384} {
			if evs, err = log.Verified(bank, f.c.PCRs[bank]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := uefi.SecureBootState(evs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoAttestation is go-attestation v0.6.4 doing what its users do
// with the same evidence: check the SHA-256 quote's RSA signature, nonce and
// PCR digest (AKPublic.Verify), parse the log, replay it against the SHA-256
// PCRs (EventLog.Verify) and read the Secure Boot state.
func BenchmarkGoAttestation(b *testing.B) {
	benchGoAttestation(b, []eventlog.Alg{eventlog.SHA256})
}

// BenchmarkGoAttestationTwoBanks is go-attestation checking a quote and a
// replay per bank, closer to Appraise's work (a quote and a replay for every
// bank the log declares, so that no bank can be downgraded). It stops at
// SHA-1 and SHA-256: go-attestation v0.6.4 cannot check this log's Secure
// Boot variables in the SHA-384 bank ("cannot compare hash of length 48").
func BenchmarkGoAttestationTwoBanks(b *testing.B) {
	benchGoAttestation(b, []eventlog.Alg{eventlog.SHA1, eventlog.SHA256})
}

func benchGoAttestation(b *testing.B, banks []eventlog.Alg) {
	f := loadBench(b)
	type bankWork struct {
		quote attest.Quote
		pcrs  []attest.PCR
	}
	var work []bankWork
	for _, bank := range banks {
		h, _ := bank.Hash()
		var w bankWork
		for i, v := range f.c.PCRs[bank] {
			w.pcrs = append(w.pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: h})
		}
		w.quote = f.perBank[bank]
		work = append(work, w)
	}
	b.SetBytes(int64(len(f.c.Log)))
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		akp, err := attest.ParseAKPublic(f.ak)
		if err != nil {
			b.Fatal(err)
		}
		el, err := attest.ParseEventLog(f.c.Log)
		if err != nil {
			b.Fatal(err)
		}
		var evs []attest.Event
		for _, w := range work {
			if err := akp.Verify(w.quote, w.pcrs, testNonce); err != nil {
				b.Fatal(err)
			}
			if evs, err = el.Verify(w.pcrs); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := attest.ParseSecurebootState(evs); err != nil {
			b.Fatal(err)
		}
	}
}
