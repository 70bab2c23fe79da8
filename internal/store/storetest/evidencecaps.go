package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// flap records a change of host at t0+d to status with evidence naming
// blobs, the verdict being the blob verdict.
func flap(t *testing.T, s store.Store, host string, d time.Duration, status string, verdict store.Blob,
	blobs ...store.Blob) {
	t.Helper()
	_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: host, At: at(d), Status: status,
		ReasonCode: "code." + status, Reason: "reason " + status, Evidence: []byte(`{"e":1}`), Verdict: []byte(`{"v":1}`),
		VerdictSHA256: verdict.SHA256, Blobs: append(blobs, verdict), Credential: cred(host)})
	if err != nil {
		t.Fatalf("RecordAttestation(%s at +%s): %v", host, d, err)
	}
}

func history(t *testing.T, s store.Store, host string) []store.StatusChange {
	t.Helper()
	hist, err := s.History(ctx(t), host, 0, 0)
	if err != nil {
		t.Fatalf("History(%s): %v", host, err)
	}
	return hist
}

// keptBytes sums the EvidenceBytes of changes, checking that each is
// either kept (evidence, no reason) or dropped (no evidence, 0 bytes, a
// reason) and that the row's reasons and verdict stay either way.
func keptBytes(t *testing.T, hist []store.StatusChange) int64 {
	t.Helper()
	var n int64
	for _, c := range hist {
		kept := c.EvidenceDropped == ""
		if kept != (c.Evidence != nil) || kept != (c.EvidenceBytes > 0) {
			t.Errorf("change at %s: evidence %q, %d bytes, dropped %q: neither kept nor dropped", c.At, c.Evidence,
				c.EvidenceBytes, c.EvidenceDropped)
		}
		if c.ReasonCode != "code."+c.To || string(c.Verdict) != `{"v":1}` {
			t.Errorf("change at %s lost its reasons or verdict: %q %q", c.At, c.ReasonCode, c.Verdict)
		}
		n += c.EvidenceBytes
	}
	return n
}

func limit(t *testing.T, s store.Store, host string, lim store.EvidenceLimits, now time.Duration) int {
	t.Helper()
	n, err := s.LimitEvidence(ctx(t), host, lim, at(now))
	if err != nil {
		t.Fatalf("LimitEvidence(%s): %v", host, err)
	}
	return n
}

// testEvidenceLimits: a host flapping with a unique blob in every Failed
// change is held to its cap and rate; its rows, reasons and verdicts stay;
// what it alone stored goes at once, what another host shares stays.
func testEvidenceLimits(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	shared, vFail, vPass := mkBlob("shared log"), mkBlob("verdict failed"), mkBlob("verdict passed")
	unique := func(i int) store.Blob { return mkBlob(fmt.Sprintf("%04d", i) + strings.Repeat("u", 996)) }
	// h2 stores the shared log first, and also names h1's first unique blob.
	flap(t, s, "h2", 0, store.StatusPassed, vPass, shared, unique(1))
	lim := store.EvidenceLimits{MaxBytes: 3000}
	for i := 1; i <= 10; i++ {
		d := time.Duration(i) * time.Minute
		if i%2 == 1 {
			flap(t, s, "h1", d, store.StatusFailed, vFail, shared, unique(i))
		} else {
			flap(t, s, "h1", d, store.StatusPassed, vPass, shared)
		}
		limit(t, s, "h1", lim, d)
	}
	hist := history(t, s, "h1")
	if len(hist) != 10 {
		t.Fatalf("h1 has %d status changes, want all 10 kept", len(hist))
	}
	// The Failed change at +7m, kept, stored its unique blob alone:
	// evidence 7 + verdict 7 + 1000.
	if c := hist[3]; c.EvidenceBytes != 1014 {
		t.Errorf("change at %s charged %d bytes, want 1014", c.At, c.EvidenceBytes)
	}
	if got := keptBytes(t, hist); got > lim.MaxBytes {
		t.Errorf("h1 keeps %d bytes of evidence, over its cap of %d", got, lim.MaxBytes)
	}
	if hist[0].EvidenceDropped != "" {
		t.Errorf("the newest change's evidence was dropped (%s)", hist[0].EvidenceDropped)
	}
	if last := hist[len(hist)-1]; last.EvidenceDropped != store.DroppedHostCap {
		t.Errorf("oldest change: dropped %q, want %q", last.EvidenceDropped, store.DroppedHostCap)
	}
	// Gone at once, without PruneBlobs: unique 3 (dropped, h1's alone).
	// Kept: unique 1 (h2 names it), the shared log, both verdicts, unique 9
	// (the newest Failed change keeps its evidence).
	got := stored(t, s, unique(3), unique(1), shared, vFail, vPass, unique(9))
	if want := []bool{false, true, true, true, true, true}; diff(want, got) != "" {
		t.Errorf("stored u3, u1, shared, vFail, vPass, u9 = %v, want %v", got, want)
	}
	prune(t, s)
	if got := stored(t, s, vFail); !got[0] {
		t.Error("PruneBlobs deleted the verdict a dropped change keeps")
	}
	// The rate: of the changes within 5 minutes before +10m, the newest 2.
	limit(t, s, "h1", store.EvidenceLimits{PerWindow: 2, Window: 5*time.Minute + time.Second}, 10*time.Minute)
	for _, c := range history(t, s, "h1")[2:] {
		if c.EvidenceDropped == "" {
			t.Errorf("change at %s keeps its evidence past the rate of 2", c.At)
		}
	}
	if n := limit(t, s, "h1", lim, 10*time.Minute); n != 0 {
		t.Errorf("LimitEvidence within the limits dropped %d", n)
	}
	// A cap smaller than the newest change's evidence still keeps it.
	limit(t, s, "h1", store.EvidenceLimits{MaxBytes: 1}, 10*time.Minute)
	if hist := history(t, s, "h1"); hist[0].EvidenceDropped != "" || hist[1].EvidenceDropped == "" {
		t.Errorf("under a 1-byte cap: newest dropped %q, next %q; want kept, dropped", hist[0].EvidenceDropped,
			hist[1].EvidenceDropped)
	}
}

// testRetainEvidence: evidence older than the retention, then the oldest
// over the fleet's cap, is dropped, never a host's newest.
func testRetainEvidence(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	v := mkBlob("verdict")
	statuses := []string{store.StatusFailed, store.StatusPassed}
	for i := 1; i <= 6; i++ {
		flap(t, s, "h1", time.Duration(i)*time.Minute, statuses[i%2], v, mkBlob(fmt.Sprint("h1 log ", i)))
	}
	flap(t, s, "h2", 2*time.Minute, store.StatusFailed, v, mkBlob("h2 log"))
	n, err := s.RetainEvidence(ctx(t), at(4*time.Minute), 0)
	if err != nil || n != 3 {
		t.Fatalf("RetainEvidence(before +4m) = %d, %v; want 3 (h1's +1m..+3m, not h2's newest)", n, err)
	}
	for _, c := range history(t, s, "h1")[3:] {
		if c.EvidenceDropped != store.DroppedRetention {
			t.Errorf("h1 at %s: dropped %q, want %q", c.At, c.EvidenceDropped, store.DroppedRetention)
		}
	}
	h2 := history(t, s, "h2")
	// Cap at h2's change and h1's newest: h1's +4m and +5m go.
	capBytes := keptBytes(t, h2) + history(t, s, "h1")[0].EvidenceBytes
	if n, err := s.RetainEvidence(ctx(t), time.Time{}, capBytes); err != nil || n != 2 {
		t.Fatalf("RetainEvidence(cap %d) = %d, %v; want 2", capBytes, n, err)
	}
	h1 := history(t, s, "h1")
	if h1[0].EvidenceDropped != "" || h1[1].EvidenceDropped != store.DroppedFleetCap {
		t.Errorf("h1 newest dropped %q, next %q; want kept, %q", h1[0].EvidenceDropped, h1[1].EvidenceDropped,
			store.DroppedFleetCap)
	}
	if got := keptBytes(t, h1) + keptBytes(t, history(t, s, "h2")); got > capBytes {
		t.Errorf("the fleet keeps %d bytes, over the cap of %d", got, capBytes)
	}
}
