package verifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/memo"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/wire"
)

// FuzzResolveHeld feeds the verifier evidence JSON as an agent may send it
// (decoded as the evidence handler decodes it) naming its event log and
// bundle files by hash, beside them or alone, against a verifier holding
// one log and two bundle files (one remembered, one only in the store).
// Resolving must never panic; it either refuses with a client's error
// (never an internal one) or leaves evidence whose log and files are
// exactly the ones the hashes name.
func FuzzResolveHeld(f *testing.F) {
	log, bundleA, bundleB := []byte("event log"), []byte("bundle a"), []byte("bundle b")
	v := newHeldVerifier(f, &wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, EventLog: log,
		Bundles: [][]byte{bundleA, bundleB}})
	v.rememberBundle(hexSHA256(bundleA), bundleA)
	seed := func(ev wire.Evidence) {
		b, err := json.Marshal(&ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	hA, hB, hLog := hexSHA256(bundleA), hexSHA256(bundleB), hexSHA256(log)
	seed(wire.Evidence{Nonce: []byte("n"), BundlesSHA256: []string{hA, hB}, EventLogSHA256: hLog})
	seed(wire.Evidence{Nonce: []byte("n"), Bundles: [][]byte{bundleA, bundleB}, BundlesSHA256: []string{hA, hB}})
	seed(wire.Evidence{Nonce: []byte("n"), Bundles: [][]byte{bundleB}, BundlesSHA256: []string{hA}})
	seed(wire.Evidence{Nonce: []byte("n"), BundlesSHA256: []string{hA, hexSHA256([]byte("not held")), ""}})
	seed(wire.Evidence{Nonce: []byte("n"), EventLog: log, EventLogSHA256: hB, BundlesSHA256: []string{"zz"}})
	f.Add([]byte(`{"bundles_sha256":[null,1]}`))
	f.Add([]byte(`{"bundles_sha256":"` + hA + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var ev wire.Evidence
		if dec.Decode(&ev) != nil {
			return
		}
		err := v.resolveEventLog(t.Context(), &ev)
		if err == nil {
			err = v.resolveBundles(t.Context(), &ev)
		}
		if err != nil {
			if e, ok := AsError(err); !ok || (e.Kind != KindInvalid && e.Kind != KindConflict) {
				t.Fatalf("refused with %v, want a client's error", err)
			}
			return
		}
		if ev.EventLogSHA256 != "" && hexSHA256(ev.EventLog) != ev.EventLogSHA256 {
			t.Fatalf("log %q resolved for hash %s", ev.EventLog, ev.EventLogSHA256)
		}
		if len(ev.BundlesSHA256) == 0 {
			return
		}
		if len(ev.Bundles) != len(ev.BundlesSHA256) {
			t.Fatalf("%d bundle files resolved for %d hashes", len(ev.Bundles), len(ev.BundlesSHA256))
		}
		for i, b := range ev.Bundles {
			if hexSHA256(b) != ev.BundlesSHA256[i] {
				t.Fatalf("bundle file %d %q resolved for hash %s", i, b, ev.BundlesSHA256[i])
			}
		}
	})
}

// newHeldVerifier is a verifier over a fresh SQLite store whose blobs hold
// ev's parts, as after an attestation that sent them, with empty memos.
func newHeldVerifier(tb testing.TB, ev *wire.Evidence) *Verifier {
	tb.Helper()
	ctx := tb.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(tb.TempDir(), "v.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := st.CreateHost(ctx, store.Host{Name: "h1", Group: "lab", TPMFamily: store.TPMFamily20,
		EnrolledAt: now, Status: store.StatusPending, StatusSince: now}); err != nil {
		tb.Fatal(err)
	}
	stored, blobs, err := splitEvidence(ev, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.RecordAttestation(ctx, store.AttestationRecord{Host: "h1", At: now, Status: store.StatusPassed,
		Evidence: stored, Blobs: blobs}); err != nil {
		tb.Fatal(err)
	}
	return &Verifier{st: st, logs: memo.New[string, []byte](heldLogMemoEntries),
		bundleFiles: memo.New[string, []byte](heldBundleMemoEntries)}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
