package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// Issue #19, hole 3: one enrolled host alternated Failed attestations
// carrying a unique large event with Passed ones; every status change kept
// its full evidence, and on a small disk no host could get a nonce after a
// few seconds. Here the same attack runs for a while against a verifier
// whose data folder is a real 96 MiB filesystem, with a 4 MiB cap per host,
// while two honest hosts attest every 2 s.
const (
	diskSize         = 96 << 20
	hostCap          = 4 << 20
	attackFor        = 30 * time.Second
	diskHonestPeriod = 2 * time.Second
	// dbSlack is what the database file may grow by besides the
	// attacker's capped evidence: its latest evidence (a log at the
	// limit), pages freed by drops and not yet reused, the summaries of
	// the attestations.
	dbSlack = 6 << 20
	// walBound is what SQLite's write-ahead log may take whatever the
	// load: the writer checkpoints at 32 MiB (sqlstore's
	// writerAutoCheckpointPages), and the file keeps its size; one
	// transaction with a log at the limit may cross the line.
	walBound = 34 << 20
)

// TestOneHostCannotFillTheDisk: a host flapping Failed/Passed with a unique
// log at the size limit in every Failed attestation keeps at most its cap
// of evidence; the data folder stays within the cap and slack; the honest
// hosts stay Passed and fresh throughout; every one of the attacker's
// status changes is kept, the older ones saying their evidence was
// dropped; and a log over the limit is refused with its code.
func TestOneHostCannotFillTheDisk(t *testing.T) {
	// The per-host nonce allowance (TestOneHostTakesOnlyItsShare) would
	// slow the attack to one attestation a second; it is off here so that
	// the attack runs as fast as it did before any limit, and the storage
	// cap is shown to hold by itself.
	f := newFleetOnSmallDisk(t, diskSize, "--host-evidence-max", "4MiB", "--host-nonces", "off")
	f.attackPolicy(func(p *policy.Policy) { p.Interval, p.UnreachableAfter = diskHonestPeriod, 3 })
	honest := []string{"honest-1", "honest-2"}
	for _, n := range honest {
		f.host(n, "good", f.joinToken(n, "10m"))
	}
	e := f.newEvil(t, "flapper", emuhost.Good, 0)
	e.enroll(f.joinToken("flapper", "10m"))
	waitFresh(t, f, honest, 30*time.Second)
	data := filepath.Join(f.dir, "data")
	baseline := usedBytes(t, data)

	t.Run("event log over the limit is refused", func(t *testing.T) {
		ev := e.evidence(e.nonce())
		ev.EventLog = uniqueLog(t, e.boot.EventLog, -1, wire.MaxEventLogBytes+1)
		a, _ := e.submit(ev)
		if a.Status != http.StatusRequestEntityTooLarge || a.Err.Code != wire.CodeEventLogTooLarge {
			t.Errorf("a %d-byte event log: %v; want 413 %s", len(ev.EventLog), a, wire.CodeEventLogTooLarge)
		}
	})

	peak := watchUsage(t, data)
	changes, sent := flapFor(t, e, attackFor)
	stale := staleHosts(t, f, honest)
	grown := peak() - baseline
	t.Logf("attack: %d status changes, %d MiB of unique logs sent; data folder grew by %.1f MiB (baseline %.1f MiB)",
		changes, sent>>20, float64(grown)/(1<<20), float64(baseline)/(1<<20))
	if stale != "" {
		t.Errorf("honest hosts during the attack: %s", stale)
	}
	if grown > hostCap+dbSlack+walBound {
		t.Errorf("the data folder grew by %d bytes under one host's attack; its cap is %d (+%d database slack, %d WAL)",
			grown, hostCap, dbSlack, walBound)
	}
	if db := fileSize(t, filepath.Join(data, "bootproof.db")); db > baseline+hostCap+dbSlack {
		t.Errorf("the database is %d bytes after one host's attack; its cap is %d (+%d slack, %d before)", db, hostCap,
			dbSlack, baseline)
	}
	checkFlapperHistory(t, f, changes)
	waitFresh(t, f, honest, 3*diskHonestPeriod)
	t.Logf("data folder: database %.1f MiB, WAL %.1f MiB", float64(fileSize(t, filepath.Join(data, "bootproof.db")))/(1<<20),
		float64(fileSize(t, filepath.Join(data, "bootproof.db-wal")))/(1<<20))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// flapFor alternates, as fast as it can for d, a Failed attestation whose
// log carries a unique event (the log at the size limit, the event never
// extended into the TPM) with an honest Passed one. It returns how many
// status changes the verifier answered and how many bytes of unique logs
// it sent.
func flapFor(t *testing.T, e *evil, d time.Duration) (changes int, sent int64) {
	last, began := "", time.Now()
	for i := 0; ; i++ {
		start := time.Now()
		ev := e.evidence(e.nonce())
		if i%2 == 0 {
			ev.EventLog = uniqueLog(t, e.boot.EventLog, i, wire.MaxEventLogBytes)
			sent += int64(len(ev.EventLog))
		}
		a, res := e.submit(ev)
		if a.Status != http.StatusOK {
			t.Fatalf("attestation %d of the flapping host: %v", i, a)
		}
		if res.Status != last {
			changes++
			last = res.Status
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("attestation %d took %s", i, time.Since(start))
		}
		if i%2 == 1 && time.Since(began) > d {
			return changes, sent
		}
	}
}

// uniqueLog returns log with one more PCR 9 event whose data is unique to
// i, padded so that the log is size bytes.
func uniqueLog(t *testing.T, log []byte, i, size int) []byte {
	t.Helper()
	tag := fmt.Sprintf("flap %08d ", i)
	build := func(pad int) []byte {
		return rewriteLog(t, log, func(evs []eventlog.Event) []eventlog.Event {
			return append(evs, inventedEvent(evs, 9, tag+strings.Repeat("x", pad)))
		})
	}
	out := build(0)
	out = build(size - len(out))
	if len(out) != size {
		t.Fatalf("unique log is %d bytes, want %d", len(out), size)
	}
	return out
}

// usedBytes is how much of the filesystem at dir is in use (statfs).
func usedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// watchUsage samples usedBytes every 50 ms until the test ends; the
// returned func gives the largest seen so far.
func watchUsage(t *testing.T, dir string) func() int64 {
	var mu sync.Mutex
	peak := usedBytes(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var st syscall.Statfs_t
			if syscall.Statfs(dir, &st) == nil {
				mu.Lock()
				peak = max(peak, int64(st.Blocks-st.Bfree)*st.Bsize)
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// staleHosts names the hosts that are not Passed on evidence of the last
// three periods, "" when every one is.
func staleHosts(t *testing.T, f *fleet, names []string) string {
	t.Helper()
	var bad []string
	for _, n := range names {
		h, err := f.get(n)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", n, err))
		case h.Status != store.StatusPassed || h.LastAttested == nil || time.Since(*h.LastAttested) > 3*diskHonestPeriod:
			bad = append(bad, fmt.Sprintf("%s %s, last attested %v", n, h.Status, h.LastAttested))
		}
	}
	return strings.Join(bad, "; ")
}

// waitFresh waits until every host in names is Passed and fresh.
func waitFresh(t *testing.T, f *fleet, names []string, limit time.Duration) {
	t.Helper()
	eventually(t, limit, func() string { return staleHosts(t, f, names) })
}

// history reads a host's whole history through the API, a page at a time.
func history(t *testing.T, f *fleet, host string) []api.HistoryEntry {
	t.Helper()
	var all []api.HistoryEntry
	for {
		var page struct {
			Items []api.HistoryEntry `json:"items"`
		}
		path := fmt.Sprintf("/api/v1/hosts/%s/history?limit=1000&offset=%d", host, len(all))
		if err := f.admin.Do(context.Background(), "GET", path, nil, &page); err != nil {
			t.Fatalf("history of %s: %v", host, err)
		}
		all = append(all, page.Items...)
		if len(page.Items) < 1000 {
			return all
		}
	}
}

// checkFlapperHistory checks that the attacker's status changes are all
// kept, newest first: the newest with its evidence, the kept evidence
// within the cap, and the rest saying theirs was dropped and why.
func checkFlapperHistory(t *testing.T, f *fleet, changes int) {
	t.Helper()
	page := struct{ Items []api.HistoryEntry }{history(t, f, "flapper")}
	if len(page.Items) != changes {
		t.Errorf("the flapping host's history has %d status changes, the verifier answered %d", len(page.Items), changes)
	}
	var kept int64
	dropped := map[string]int{}
	for i, c := range page.Items {
		if (c.EvidenceDropped == "") != (c.EvidenceBytes > 0) {
			t.Errorf("change %d at %s: %d bytes of evidence, dropped %q", i, c.At, c.EvidenceBytes, c.EvidenceDropped)
		}
		if c.To == store.StatusFailed && c.ReasonCode == "" {
			t.Errorf("change %d to Failed at %s lost its reason", i, c.At)
		}
		kept += c.EvidenceBytes
		dropped[c.EvidenceDropped]++
	}
	if len(page.Items) > 0 && page.Items[0].EvidenceDropped != "" {
		t.Errorf("the newest change's evidence was dropped: %s", page.Items[0].EvidenceDropped)
	}
	if kept > hostCap {
		t.Errorf("the flapping host keeps %d bytes of evidence, over its cap of %d", kept, hostCap)
	}
	if dropped[store.DroppedHostCap]+dropped[store.DroppedHostRate] == 0 {
		t.Errorf("no change says its evidence was dropped: %v", dropped)
	}
	t.Logf("flapping host: %d changes, %d bytes of evidence kept by %d; dropped: %v", len(page.Items), kept,
		dropped[""], dropped)
}
