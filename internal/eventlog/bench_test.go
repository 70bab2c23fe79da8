package eventlog_test

import (
	"crypto"
	"os"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/google/go-attestation/attest"
)

// benchCase is a typical real crypto-agile log: 38 KB, 105 events, SHA-1
// and SHA-256 banks, from a GCE Ubuntu 21.04 shielded VM.
const benchCase = "go-tpm-tools/ubuntu-2104-no-secure-boot"

func benchLog(b *testing.B) ([]byte, eventlog.PCRValues) {
	dir := filepath.Join(sharedDir(b), "testdata", "eventlogs", filepath.FromSlash(benchCase))
	raw, err := os.ReadFile(filepath.Join(dir, "eventlog.bin"))
	if err != nil {
		b.Fatal(err)
	}
	pj, err := os.ReadFile(filepath.Join(dir, "pcrs.json"))
	if err != nil {
		b.Fatal(err)
	}
	pcrs, err := eventlog.ParsePCRValues(pj)
	if err != nil {
		b.Fatal(err)
	}
	return raw, pcrs
}

// BenchmarkParseReplay is the verifier's hot path: parse the log and replay
// the SHA-256 bank.
func BenchmarkParseReplay(b *testing.B) {
	raw, _ := benchLog(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		l, err := eventlog.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Replay(eventlog.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVerifySecureBoot is the whole of what the appraisal asks of
// this package and uefi: parse, verify against the quoted SHA-256 PCRs, and
// derive the Secure Boot state.
func BenchmarkParseVerifySecureBoot(b *testing.B) {
	raw, pcrs := benchLog(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		l, err := eventlog.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := l.Verified(eventlog.SHA256, pcrs[eventlog.SHA256])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := uefi.SecureBootState(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoAttestation does the same with go-attestation for comparison:
// ParseEventLog, Verify against the SHA-256 PCRs, ParseSecurebootState.
func BenchmarkGoAttestation(b *testing.B) {
	raw, pcrs := benchLog(b)
	var ps []attest.PCR
	for i, v := range pcrs[eventlog.SHA256] {
		ps = append(ps, attest.PCR{Index: i, Digest: v, DigestAlg: crypto.SHA256})
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		l, err := attest.ParseEventLog(raw)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := l.Verify(ps)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := attest.ParseSecurebootState(ev); err != nil {
			b.Fatal(err)
		}
	}
}
