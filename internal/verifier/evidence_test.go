package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/wire"
)

// newEvidenceStore is a verifier over a fresh SQLite store holding host h1.
func newEvidenceStore(t *testing.T) *Verifier {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := st.CreateHost(t.Context(), store.Host{Name: "h1", Group: "lab", TPMFamily: store.TPMFamily20,
		EnrolledAt: now, Status: store.StatusPending, StatusSince: now}); err != nil {
		t.Fatal(err)
	}
	return &Verifier{st: st}
}

func quoted() []wire.Quote {
	return []wire.Quote{{Attest: []byte("attest"), Signature: []byte("sig"),
		PCRs: map[string]map[int][]byte{"sha256": {0: bytes.Repeat([]byte{1}, 32)}}}}
}

// TestEvidenceRoundTrip: evidence stored without its log and bundles reads
// back as the agent sent it, byte for byte as JSON.
func TestEvidenceRoundTrip(t *testing.T) {
	log := bytes.Repeat([]byte("event "), 1000)
	tests := []struct {
		name      string
		ev        wire.Evidence
		ak        []byte
		wantBlobs int
	}{
		{"log, bundles, PCR values and AK", wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Quotes: quoted(),
			EventLog: log, Bundles: [][]byte{[]byte("bundle a"), []byte("bundle b")}}, []byte("ak public"), 4},
		{"the same bundle twice, and an empty one", wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20,
			EventLog: log, Bundles: [][]byte{[]byte("same"), {}, []byte("same")}}, nil, 4},
		{"log and PCR values", wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Quotes: quoted(), EventLog: log}, nil, 2},
		{"a quote without PCR values beside one with", wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20,
			Quotes: append([]wire.Quote{{Attest: []byte("a0"), Signature: []byte("s0")}}, quoted()...)}, nil, 1},
		{"no TPM 2.0: nothing to split", wire.Evidence{Nonce: []byte("n"), TPMFamily: "none"}, nil, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEvidenceStore(t)
			want, err := json.Marshal(&tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			stored, blobs, err := splitEvidence(&tt.ev, tt.ak)
			if err != nil {
				t.Fatalf("splitEvidence: %v", err)
			}
			if len(blobs) != tt.wantBlobs {
				t.Errorf("%d blobs, want %d", len(blobs), tt.wantBlobs)
			}
			if tt.wantBlobs > 0 && holdsBlobParts(t, stored) {
				t.Errorf("stored evidence still holds the log, bundles or PCR values: %s", stored)
			}
			if tt.wantBlobs == 0 && !bytes.Equal(stored, want) {
				t.Errorf("evidence without log or bundles stored as %s, want %s", stored, want)
			}
			if _, err := v.st.RecordAttestation(t.Context(), store.AttestationRecord{Host: "h1",
				At: time.Unix(int64(i+1), 0), Status: store.StatusPassed, Evidence: stored, Blobs: blobs}); err != nil {
				t.Fatalf("RecordAttestation: %v", err)
			}
			got, err := v.LatestEvidence(t.Context(), "h1")
			if err != nil {
				t.Fatalf("LatestEvidence: %v", err)
			}
			gotJSON, _ := json.Marshal(got.Evidence)
			if !bytes.Equal(gotJSON, want) {
				t.Errorf("read back as\n%s\nwant\n%s", gotJSON, want)
			}
			if !bytes.Equal(got.AKPublic, tt.ak) {
				t.Errorf("AK read back as %q, want %q", got.AKPublic, tt.ak)
			}
			if !got.At.Equal(time.Unix(int64(i+1), 0)) {
				t.Errorf("recorded at %v, want %v", got.At, time.Unix(int64(i+1), 0))
			}
		})
	}
}

// TestExpandOldEvidence: evidence stored whole, before blobs, reads back as
// it is, and evidence naming a blob the store lacks is an error.
func TestExpandOldEvidence(t *testing.T) {
	v := newEvidenceStore(t)
	ev := wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Quotes: quoted(), EventLog: []byte("log"),
		Bundles: [][]byte{[]byte("b")}}
	whole, _ := json.Marshal(&ev)
	got, err := v.ExpandEvidence(t.Context(), whole)
	if err != nil {
		t.Fatalf("ExpandEvidence(old row): %v", err)
	}
	if gotJSON, _ := json.Marshal(got.Evidence); !bytes.Equal(gotJSON, whole) {
		t.Errorf("old row read back as %s, want %s", gotJSON, whole)
	}

	stored, _, err := splitEvidence(&ev, []byte("ak"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ExpandEvidence(t.Context(), stored); !errors.Is(err, errBlobMissing) {
		t.Errorf("ExpandEvidence with its blobs never stored: err %v, want errBlobMissing", err)
	}
	if _, err := v.ExpandEvidence(t.Context(), []byte("not json")); err == nil {
		t.Error("ExpandEvidence(not JSON) succeeded")
	}
}

func TestJoinObjects(t *testing.T) {
	tests := []struct {
		a, b, want string
	}{
		{`{"a":1}`, `{"b":2}`, `{"a":1,"b":2}`},
		{`{}`, `{"b":2}`, `{"b":2}`},
		{`{"a":1}`, `{}`, `{"a":1}`},
		{` {"a":1} `, "{\"b\":2}\n", `{"a":1,"b":2}`},
		{`[1]`, `{"b":2}`, ""},
		{`{"a":1}`, `null`, ""},
	}
	for _, tt := range tests {
		got, err := joinObjects([]byte(tt.a), []byte(tt.b))
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "JSON objects") {
				t.Errorf("joinObjects(%s, %s) = %s, %v; want an error", tt.a, tt.b, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("joinObjects(%s, %s) = %s, %v; want %s", tt.a, tt.b, got, err, tt.want)
		}
	}
}

// FuzzEvidence: any log and bundles survive the split and the expansion;
// any stored bytes expand or fail without a panic.
func FuzzEvidence(f *testing.F) {
	f.Add([]byte("log"), []byte("bundle"), []byte{}, []byte(`{"nonce":"bg==","event_log_sha256":"00"}`))
	f.Add([]byte{}, []byte{}, []byte("b"), []byte(`{"bundles_sha256":["x",""],"bundles":["YQ=="]}`))
	f.Fuzz(func(t *testing.T, log, b1, b2, stored []byte) {
		blobs := map[string][]byte{}
		get := func(hs []string) (map[string][]byte, error) {
			out := map[string][]byte{}
			for _, h := range hs {
				if d, ok := blobs[h]; ok {
					out[h] = d
				}
			}
			return out, nil
		}
		ev := &wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, EventLog: log, Bundles: [][]byte{b1, b2},
			Quotes: []wire.Quote{{Attest: b1, PCRs: map[string]map[int][]byte{"sha256": {7: b2}}}, {Signature: log}}}
		want, _ := json.Marshal(ev)
		slim, bs, err := splitEvidence(ev, b1)
		if err != nil {
			t.Fatalf("splitEvidence: %v", err)
		}
		for _, b := range bs {
			blobs[b.SHA256] = b.Data
		}
		got, err := expandEvidence(slim, get)
		if err != nil {
			t.Fatalf("expandEvidence: %v", err)
		}
		if gotJSON, _ := json.Marshal(got.Evidence); !bytes.Equal(gotJSON, want) {
			t.Fatalf("round trip:\n got %s\nwant %s", gotJSON, want)
		}
		_, _ = expandEvidence(stored, get)
	})
}

// holdsBlobParts decodes stored evidence as wire.Evidence and reports
// whether it carries its event log, bundle files or any quote's PCR values
// inline (what splitEvidence moves to blobs).
func holdsBlobParts(t *testing.T, stored []byte) bool {
	t.Helper()
	var ev wire.Evidence
	if err := json.Unmarshal(stored, &ev); err != nil {
		t.Fatalf("stored evidence is not wire.Evidence: %v", err)
	}
	pcrs := false
	for _, q := range ev.Quotes {
		pcrs = pcrs || q.PCRs != nil
	}
	return len(ev.EventLog) > 0 || len(ev.Bundles) > 0 || pcrs
}
