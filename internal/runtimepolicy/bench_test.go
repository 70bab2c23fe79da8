package runtimepolicy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
)

// BenchmarkJudge judges a 100,000-entry log against a policy of 100,000
// paths (the size of a distribution's files), with two excludes and a
// deny list: the cost per entry the verifier pays on top of parsing and
// replaying the log.
func BenchmarkJudge(b *testing.B) {
	const n = 100_000
	p := &Policy{UnknownFiles: ModeEnforce, Allow: make(map[string][]string, n), Exclude: []string{"/tmp/*", "/var/log/**"}}
	ms := make([]Measurement, n)
	for i := range ms {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		sum := sha256.Sum256(seed[:])
		path := fmt.Sprintf("/usr/lib/x86_64-linux-gnu/package-%d/lib%d.so.1", i%977, i)
		p.Allow[path] = []string{FormatDigest("sha256", sum[:])}
		ms[i] = Measurement{Index: i, Path: path, HashAlg: "sha256", FileHash: sum[:]}
	}
	for i := 0; i < 20; i++ {
		sum := sha256.Sum256([]byte{byte(i)})
		p.Deny = append(p.Deny, DenyRule{Digest: FormatDigest("sha256", sum[:]), Mode: ModeEnforce})
	}
	j, err := Compile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range ms {
			if d := j.Judge(&ms[i]); d.Outcome != AllowedByDigest {
				b.Fatalf("entry %d: %s", i, d.Message())
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
}
