//go:build unix

package verifier_test

// BenchmarkPreview measures a policy preview of a fleet in a real SQLite
// store:
//
//	BOOTPROOF_PREVIEW_HOSTS=100000 go test ./internal/verifier -run XXX -bench Preview -benchtime 3x
//
// Three hosts (a good boot, an older kernel, Secure Boot off) attest
// through Submit; their stored records are then written for the fleet's
// other hosts, each under its own name with the same AK (so every stored
// quote verifies, as a real host's does with its own AK, at the same cost).
// The preview proposes the policy learned from the good host: a third of
// the fleet would change status.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/store"
)

// previewBenchHosts is the fleet's size: BOOTPROOF_PREVIEW_HOSTS, else 3000.
func previewBenchHosts(b *testing.B) int {
	n := 3000
	if s := os.Getenv("BOOTPROOF_PREVIEW_HOSTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 3 {
			b.Fatalf("BOOTPROOF_PREVIEW_HOSTS=%q: want a whole number of at least 3", s)
		}
	}
	return n
}

func BenchmarkPreview(b *testing.B) {
	n := previewBenchHosts(b)
	f := previewFleet(b, map[emuhost.Profile]int{emuhost.Good: 1, emuhost.OldKernel: 1, emuhost.SecureBootOff: 1})
	start := time.Now()
	cloneFleet(b, f, n-len(f.hosts))
	b.Logf("filled %d hosts in %s", n, time.Since(start).Round(time.Millisecond))
	proposed := learnedFrom(b, f, "good-00")
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		pv, err := f.v.PreviewPolicy(context.Background(), "lab", proposed, 0)
		if err != nil {
			b.Fatal(err)
		}
		if pv.Hosts != n || pv.Changed < n/3 {
			b.Fatalf("preview of %d hosts: %d re-appraised, %d changed; want all, a third changed", n, pv.Hosts, pv.Changed)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "hosts/s")
	// CPU time says what the preview costs whatever else shares the cores.
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cloneFleet writes n more hosts, each with the stored record of one of
// f's hosts in turn, under names "clone-%06d".
func cloneFleet(b testing.TB, f *benchFleet, n int) {
	ctx := context.Background()
	st := f.v.Store()
	type tmpl struct {
		h  store.Host
		le store.LatestEvidence
	}
	var ts []tmpl
	for _, bh := range f.hosts {
		h, err := st.GetHost(ctx, bh.rec.Name)
		if err != nil {
			b.Fatal(err)
		}
		le, err := st.LatestEvidence(ctx, bh.rec.Name)
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, tmpl{h, le})
	}
	for i := range n {
		t := ts[i%len(ts)]
		h := t.h
		h.Name, h.Status = fmt.Sprintf("clone-%06d", i), store.StatusPending
		if err := st.CreateHost(ctx, h); err != nil {
			b.Fatal(err)
		}
		_, err := st.RecordAttestation(ctx, store.AttestationRecord{Host: h.Name, At: t.le.At, Status: t.le.Status,
			Evidence: t.le.Evidence, Verdict: t.le.Verdict, Credential: h.Credential(), PolicyVersion: t.le.PolicyVersion})
		if err != nil {
			b.Fatal(err)
		}
	}
}
