package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func mkBlob(data string) store.Blob {
	sum := sha256.Sum256([]byte(data))
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: []byte(data)}
}

// recordBlobs records an attestation of host at t0+d that refers to blobs.
func recordBlobs(t *testing.T, s store.Store, host string, d time.Duration, status string, blobs ...store.Blob) {
	t.Helper()
	_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: host, At: at(d), Status: status,
		Evidence: []byte(`{"n":1}`), Verdict: []byte(`{}`), Blobs: blobs, Credential: cred(host)})
	if err != nil {
		t.Fatalf("RecordAttestation(%s at +%s with %d blobs): %v", host, d, len(blobs), err)
	}
}

// stored returns which of blobs GetBlobs finds, checking their data.
func stored(t *testing.T, s store.Store, blobs ...store.Blob) []bool {
	t.Helper()
	var hashes []string
	for _, b := range blobs {
		hashes = append(hashes, b.SHA256)
	}
	got, err := s.GetBlobs(ctx(t), hashes)
	if err != nil {
		t.Fatalf("GetBlobs: %v", err)
	}
	out := make([]bool, len(blobs))
	for i, b := range blobs {
		data, ok := got[b.SHA256]
		if ok && string(data) != string(b.Data) {
			t.Errorf("GetBlobs(%s) = %q, want %q", b.SHA256, data, b.Data)
		}
		out[i] = ok
	}
	return out
}

func prune(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.PruneBlobs(ctx(t))
	if err != nil {
		t.Fatalf("PruneBlobs: %v", err)
	}
	return n
}

// testBlobs: blobs are kept while a latest evidence or a status change
// refers to them, and pruned once none does.
func testBlobs(t *testing.T, s store.Store) {
	a, b, c, d, e := mkBlob("log A"), mkBlob("bundle B"), mkBlob("bundle C"), mkBlob("log D"), mkBlob("log E")
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	steps := []struct {
		name      string
		do        func()
		wantPrune int64
		want      []bool // stored: a, b, c, d, e
	}{
		{"two hosts send the same blobs", func() {
			recordBlobs(t, s, "h1", time.Minute, store.StatusPassed, a, b)
			recordBlobs(t, s, "h2", time.Minute, store.StatusPassed, b, a)
		}, 0, []bool{true, true, false, false, false}},
		// h1's latest moves to {a, c}, then {a}: nothing refers to c any more.
		{"replaced by later evidence", func() {
			recordBlobs(t, s, "h1", 2*time.Minute, store.StatusPassed, a, c)
			recordBlobs(t, s, "h1", 3*time.Minute, store.StatusPassed, a)
		}, 1, []bool{true, true, false, false, false}},
		// d caused a status change: the change keeps it after the latest
		// evidence moves on to e.
		{"kept by a status change", func() {
			recordBlobs(t, s, "h1", 4*time.Minute, store.StatusFailed, d)
			recordBlobs(t, s, "h1", 5*time.Minute, store.StatusFailed, e)
		}, 0, []bool{true, true, false, true, true}},
		// a and b stay: h2 refers to them.
		{"host removed", func() {
			if err := s.DeleteHost(ctx(t), "h1"); err != nil {
				t.Fatalf("DeleteHost: %v", err)
			}
		}, 2, []bool{true, true, false, false, false}},
		{"last host removed", func() {
			if err := s.DeleteHost(ctx(t), "h2"); err != nil {
				t.Fatalf("DeleteHost: %v", err)
			}
		}, 2, []bool{false, false, false, false, false}},
	}
	for _, st := range steps {
		st.do()
		if n := prune(t, s); n != st.wantPrune {
			t.Errorf("%s: PruneBlobs removed %d, want %d", st.name, n, st.wantPrune)
		}
		if got := stored(t, s, a, b, c, d, e); diff(st.want, got) != "" {
			t.Errorf("%s: stored a..e = %v, want %v", st.name, got, st.want)
		}
	}
}

// testBlobEdges: an empty blob and a blob named twice in one record are
// stored; a hash that does not match the data, or is not a SHA-256, refuses
// the whole record.
func testBlobEdges(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	empty, log := mkBlob(""), mkBlob("log")
	recordBlobs(t, s, "h1", time.Minute, store.StatusPassed, empty, log, log)
	if got := stored(t, s, empty, log); !got[0] || !got[1] {
		t.Errorf("stored(empty, log) = %v, want both", got)
	}
	mustCreateHost(t, s, newHost("h2", "prod"))
	lie := mkBlob("what the hash says")
	lie.Data = []byte("something else")
	bad := []struct {
		name string
		blob store.Blob
	}{
		{"hash of other data", lie},
		{"upper-case hash", store.Blob{SHA256: fmt.Sprintf("%X", sha256.Sum256([]byte("x"))), Data: []byte("x")}},
		{"short hash", store.Blob{SHA256: "abcd", Data: []byte("x")}},
	}
	for _, tt := range bad {
		_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "h2", At: at(time.Minute),
			Status: store.StatusPassed, Evidence: []byte("{}"), Blobs: []store.Blob{mkBlob("fine"), tt.blob},
			Credential: cred("h2")})
		if err == nil {
			t.Errorf("%s: RecordAttestation succeeded", tt.name)
		}
	}
	if _, err := s.LatestEvidence(ctx(t), "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestEvidence after refused records: err %v, want ErrNotFound", err)
	}
	if got := stored(t, s, mkBlob("fine"), lie); got[0] || got[1] {
		t.Errorf("blobs of refused records stored: %v", got)
	}
	if got, err := s.GetBlobs(ctx(t), nil); err != nil || len(got) != 0 {
		t.Errorf("GetBlobs(none) = %v, %v", got, err)
	}
}

// testBlobsConcurrent: hosts storing the same new blobs at once, beside
// prunes, all succeed, and every latest evidence's blobs remain.
func testBlobsConcurrent(t *testing.T, s store.Store) {
	const hosts, rounds = 8, 6
	for i := range hosts {
		mustCreateHost(t, s, newHost(fmt.Sprintf("h%d", i), "prod"))
	}
	// Round r: every host sends log r and bundles r and r+1, so that rounds
	// share blobs and each leaves the previous round's log unreferenced.
	round := func(r int) []store.Blob {
		return []store.Blob{mkBlob(fmt.Sprint("log ", r)), mkBlob(fmt.Sprint("bundle ", r)), mkBlob(fmt.Sprint("bundle ", r+1))}
	}
	for r := range rounds {
		errs := race(hosts+1, func(i int) error {
			if i == hosts {
				_, err := s.PruneBlobs(ctx(t))
				return err
			}
			_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: fmt.Sprintf("h%d", i),
				At: at(time.Duration(r+1) * time.Minute), Status: store.StatusPassed, Evidence: []byte("{}"),
				Blobs: round(r), Credential: cred(fmt.Sprintf("h%d", i))})
			return err
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		if got := stored(t, s, round(r)...); diff([]bool{true, true, true}, got) != "" {
			t.Fatalf("round %d: the latest blobs stored = %v, want all", r, got)
		}
	}
	prune(t, s)
	// Kept: the last round's (latest evidence) and the first's (the first
	// attestation's status change); gone: the logs of the rounds between.
	want := []bool{true, true, true, false, true, true, true}
	got := stored(t, s, append(append(round(0), mkBlob("log 1")), round(rounds-1)...)...)
	if diff(want, got) != "" {
		t.Errorf("after the rounds, stored = %v, want %v", got, want)
	}
}
