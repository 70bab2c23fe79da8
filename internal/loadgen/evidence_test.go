package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/wire"
)

// sends are the ways a host sends its evidence: event log and bundle files
// in full, or named by the hashes the verifier holds.
var sends = []struct {
	name                     string
	logByHash, bundlesByHash bool
}{
	{"in full", false, false},
	{"log by hash", true, false},
	{"bundles by hash", false, true},
	{"log and bundles by hash", true, true},
}

// wireEvidence is what the generator sent before it wrote evidence JSON
// itself: SimulatedTPM.Evidence's wire.Evidence, with the log and bundle
// files replaced by their hashes as the host sends them, for json.Marshal.
func wireEvidence(ev *wire.Evidence, im *Image, logByHash, bundlesByHash bool) *wire.Evidence {
	slim := *ev
	if logByHash {
		slim.EventLog, slim.EventLogSHA256 = nil, im.eventLogSHA256
	}
	if bundlesByHash {
		slim.Bundles, slim.BundlesSHA256 = nil, im.bundlesSHA256
	}
	return &slim
}

// TestEvidenceJSON: the evidence JSON the generator writes from its
// images' encoded parts decodes, on the verifier's side, to the very
// wire.Evidence that encoding the evidence with encoding/json gave, and is
// byte for byte what json.Marshal writes, for every profile and every way
// of sending it.
func TestEvidenceJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the emulated chain on the reference TPM")
	}
	profiles := []emuhost.Profile{emuhost.Good, emuhost.SecureBootOff, emuhost.UnsignedBundle, emuhost.CommunityBundle}
	ims, err := BootImages(profiles)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSimulatedTPM(EKECC, AKECC, testMaker(t), "json")
	if err != nil {
		t.Fatal(err)
	}
	for i, prof := range profiles {
		im := ims[prof]
		ev, err := s.Evidence(im, bytes.Repeat([]byte{byte(i + 1)}, 32), uint64(1000*(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		for _, send := range sends {
			t.Run(fmt.Sprintf("%s/%s", prof, send.name), func(t *testing.T) {
				old, err := json.Marshal(wireEvidence(ev, im, send.logByHash, send.bundlesByHash))
				if err != nil {
					t.Fatal(err)
				}
				got := im.evidenceJSON(ev.Nonce, ev.Quotes[0], send.logByHash, send.bundlesByHash)
				var want, decoded wire.Evidence
				if err := json.Unmarshal(old, &want); err != nil {
					t.Fatal(err)
				}
				// As the verifier decodes it: strict, one value.
				dec := json.NewDecoder(bytes.NewReader(got))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&decoded); err != nil || dec.More() {
					t.Fatalf("the generator's evidence does not decode: %v\n%s", err, got)
				}
				if d := cmp.Diff(want, decoded); d != "" {
					t.Errorf("decoded evidence differs (-encoding/json +generator):\n%s", d)
				}
				if !bytes.Equal(got, old) {
					t.Errorf("bytes differ from json.Marshal's:\n got %.300s\nwant %.300s", got, old)
				}
			})
		}
	}
}

// BenchmarkEvidenceJSON is the generator's evidence encoding per
// attestation, the quote's signature left out: encoding/json over a
// wire.Evidence, as the generator did, against its images' encoded parts,
// for each way of sending (steady state, before bundles went by hash: log
// by hash; now: log and bundles by hash).
//
//	go test ./internal/loadgen -run XXX -bench EvidenceJSON -benchmem
func BenchmarkEvidenceJSON(b *testing.B) {
	ims, err := BootImages([]emuhost.Profile{emuhost.Good})
	if err != nil {
		b.Fatal(err)
	}
	im := ims[emuhost.Good]
	s, err := NewSimulatedTPM(EKECC, AKECC, testMaker(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	ev, err := s.Evidence(im, bytes.Repeat([]byte{7}, 32), 1000)
	if err != nil {
		b.Fatal(err)
	}
	for _, send := range sends {
		b.Run("encoding-json/"+send.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := json.Marshal(wireEvidence(ev, im, send.logByHash, send.bundlesByHash)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parts/"+send.name, func(b *testing.B) {
			for b.Loop() {
				im.evidenceJSON(ev.Nonce, ev.Quotes[0], send.logByHash, send.bundlesByHash)
			}
		})
	}
}

// TestSubmitByHash: a simulated host sends its log and bundle files in full
// until the verifier says it holds them, then their hashes; after the
// verifier refuses a hash it sends everything again, and FullLogs and
// FullBundles keep either part in full.
func TestSubmitByHash(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the emulated chain on the reference TPM")
	}
	ims, err := BootImages([]emuhost.Profile{emuhost.Good})
	if err != nil {
		t.Fatal(err)
	}
	im := ims[emuhost.Good]
	s, err := NewSimulatedTPM(EKECC, AKECC, testMaker(t), "submit")
	if err != nil {
		t.Fatal(err)
	}
	var sent []string // per POST: "log"/"log hash", "+bundles"/"+bundle hashes"
	refuse := ""      // the refusal code for the next evidence naming anything by hash
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev wire.Evidence
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("decode evidence: %v", err)
		}
		kind := "log"
		if ev.EventLogSHA256 != "" {
			kind = "log hash"
		}
		if ev.BundlesSHA256 != nil {
			kind += "+bundle hashes"
		} else {
			kind += "+bundles"
		}
		sent = append(sent, kind)
		if refuse != "" && (ev.EventLogSHA256 != "" || ev.BundlesSHA256 != nil) {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(wire.Error{Code: refuse, Message: "send it"})
			refuse = ""
			return
		}
		json.NewEncoder(w).Encode(wire.EvidenceResult{Status: "Passed", EventLogSHA256: im.eventLogSHA256,
			BundlesSHA256: im.bundlesSHA256})
	}))
	defer srv.Close()

	r := &runner{base: srv.URL}
	h := &host{im: im, tpm: s}
	steps := []struct {
		name                  string
		fullLogs, fullBundles bool
		refuse                string
		want                  []string
	}{
		{"first: in full", false, false, "", []string{"log+bundles"}},
		{"held: by hash", false, false, "", []string{"log hash+bundle hashes"}},
		{"bundles unknown: again in full", false, false, wire.CodeBundlesUnknown,
			[]string{"log hash+bundle hashes", "log+bundles"}},
		{"log unknown: again in full", false, false, wire.CodeEventLogUnknown,
			[]string{"log hash+bundle hashes", "log+bundles"}},
		{"--full-bundles", false, true, "", []string{"log hash+bundles"}},
		{"--full-logs", true, false, "", []string{"log+bundle hashes"}},
		{"both", true, true, "", []string{"log+bundles"}},
	}
	var logs, bundles int64
	for i, st := range steps {
		sent, refuse = nil, st.refuse
		r.cfg.FullLogs, r.cfg.FullBundles = st.fullLogs, st.fullBundles
		q, err := s.Quote(im, []byte("nonce"), uint64(1000*(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		send := func(method, path string, body jsonBody, out any) error {
			return call(t.Context(), srv.Client(), method, srv.URL+path, "", body, out)
		}
		if _, err := r.submit(send, h, []byte("nonce"), q); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(sent, st.want) {
			t.Errorf("%s: sent %q, want %q", st.name, sent, st.want)
		}
		last := st.want[len(st.want)-1]
		if strings.HasPrefix(last, "log hash") {
			logs++
		}
		if strings.HasSuffix(last, "bundle hashes") {
			bundles++
		}
	}
	if r.logsByHash.Load() != logs || r.bundlesByHash.Load() != bundles {
		t.Errorf("counted %d logs and %d bundle sets by hash, want %d and %d", r.logsByHash.Load(),
			r.bundlesByHash.Load(), logs, bundles)
	}
}
