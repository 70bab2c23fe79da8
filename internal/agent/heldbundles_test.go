package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/bootproof/bootproof/internal/wire"
)

// TestBundlesByHash: once the verifier says which hashes it holds the host's
// bundle files under, the agent sends those hashes in their place while
// the files are the same, sends the files again when the verifier no
// longer holds them and whenever a file changes; a verifier that does not
// hold bundles by hash (its answer names none) gets the files every time.
func TestBundlesByHash(t *testing.T) {
	var mu sync.Mutex
	var got []wire.Evidence
	forget := false // the verifier's answer to the next evidence naming bundles by hash
	old := false    // the verifier predates bundles by hash: its answer names none
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev wire.Evidence
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("decode evidence: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		refuse := forget && len(ev.BundlesSHA256) > 0
		forget = forget && !refuse
		oldVerifier := old
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(wire.Error{Code: wire.CodeBundlesUnknown, Message: "send the bundle files"})
			return
		}
		res := wire.EvidenceResult{Status: "Passed", IntervalSeconds: 60, BundlesSHA256: ev.BundlesSHA256}
		if len(ev.Bundles) > 0 {
			res.BundlesSHA256 = nil
			for _, f := range ev.Bundles {
				res.BundlesSHA256 = append(res.BundlesSHA256, hashHex(f))
			}
		}
		if oldVerifier {
			res.BundlesSHA256 = nil
		}
		json.NewEncoder(w).Encode(res)
	}))
	defer srv.Close()
	a := newTestAgent(t, srv)
	a1, a2, b1 := []byte("bundle a1"), []byte("bundle a2"), []byte("bundle b1")

	steps := []struct {
		name        string
		files       [][]byte
		forget, old bool
		// sent is what each POST carried: the files ("files") or their
		// hashes ("hashes").
		sent []string
	}{
		{"a verifier that names no hashes: the files", [][]byte{a1, a2}, false, true, []string{"files"}},
		{"and again the files", [][]byte{a1, a2}, false, true, []string{"files"}},
		{"a verifier that names them: the files", [][]byte{a1, a2}, false, false, []string{"files"}},
		{"unchanged: the hashes", [][]byte{a1, a2}, false, false, []string{"hashes"}},
		{"the verifier lost them: the hashes, then the files", [][]byte{a1, a2}, true, false, []string{"hashes", "files"}},
		{"held again: the hashes", [][]byte{a1, a2}, false, false, []string{"hashes"}},
		{"one file changed: the files", [][]byte{b1, a2}, false, false, []string{"files"}},
		{"the same files in another order: the files", [][]byte{a2, b1}, false, false, []string{"files"}},
		{"a file removed: the files", [][]byte{a2}, false, false, []string{"files"}},
		{"held again after the change: the hashes", [][]byte{a2}, false, false, []string{"hashes"}},
	}
	for _, s := range steps {
		mu.Lock()
		got, forget, old = nil, s.forget, s.old
		mu.Unlock()
		ev := &wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Bundles: s.files}
		res, err := a.submit(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Status != "Passed" {
			t.Errorf("%s: status %q", s.name, res.Status)
		}
		want := make([]string, len(s.files))
		for i, f := range s.files {
			want[i] = hashHex(f)
		}
		mu.Lock()
		var sent []string
		for _, e := range got {
			switch {
			case slices.EqualFunc(e.Bundles, s.files, bytes.Equal) && e.BundlesSHA256 == nil:
				sent = append(sent, "files")
			case e.Bundles == nil && slices.Equal(e.BundlesSHA256, want):
				sent = append(sent, "hashes")
			default:
				sent = append(sent, "wrong")
			}
		}
		mu.Unlock()
		if !slices.Equal(sent, s.sent) {
			t.Errorf("%s: sent %v, want %v", s.name, sent, s.sent)
		}
		if !slices.EqualFunc(ev.Bundles, s.files, bytes.Equal) {
			t.Errorf("%s: the agent's own evidence lost its bundle files", s.name)
		}
	}
}
