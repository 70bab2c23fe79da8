package verifier_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestSubmitBundlesByHash: evidence may name its bundle files by the hashes
// the verifier said it holds them under; they are appraised exactly as if
// sent (the same verdict), a hash the verifier does not hold is refused
// with evidence.bundles_unknown without using up the nonce, hashes sent
// beside files they do not name are refused, and a tampered file the
// verifier holds can be named only by its own hash, where it fails as it
// did when sent.
func TestSubmitBundlesByHash(t *testing.T) {
	ctx := context.Background()
	f := newBenchFleet(t, 1)
	good := f.hosts[0]
	goodFiles := good.im.Bundles
	goodHashes := hashesOf(goodFiles)
	tampered := append([][]byte{tamperSignature(t, goodFiles[0])}, goodFiles[1:]...)
	tamperedHashes := hashesOf(tampered)

	evidence := func() (store.Host, *wire.Evidence) { return f.freshEvidence(t, good) }
	// verdictOf submits ev and returns the verdict recorded, without the
	// TPM clock, which grows with every quote.
	verdictOf := func(h store.Host, ev *wire.Evidence) (wire.EvidenceResult, *appraisal.Verdict) {
		t.Helper()
		res, err := f.v.Submit(ctx, h, ev)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		vd, _, err := f.v.LatestVerdict(ctx, h.Name)
		if err != nil {
			t.Fatal(err)
		}
		vd.Clock = nil
		return res, vd
	}

	// What the host earns sending its files, and sending the tampered set:
	// the verifier holds both sets, each under its own hashes. A first
	// attestation makes the quote clock's check read as it will from then on.
	verdictOf(evidence())
	want := map[string]*appraisal.Verdict{}
	for _, s := range []struct {
		name   string
		files  [][]byte
		hashes []string
		status string
	}{{"tampered", tampered, tamperedHashes, store.StatusFailed}, {"good", goodFiles, goodHashes, store.StatusPassed}} {
		h, ev := evidence()
		ev.Bundles = s.files
		res, vd := verdictOf(h, ev)
		if res.Status != s.status || !cmp.Equal(res.BundlesSHA256, s.hashes) {
			t.Fatalf("%s bundles sent: %s (%s), held as %v; want %s, held as %v", s.name, res.Status, res.Reason,
				res.BundlesSHA256, s.status, s.hashes)
		}
		want[s.name] = vd
	}
	if c := firstFailed(want["tampered"]); c == nil || c.Code != appraisal.CodeBundleSignature {
		t.Fatalf("the tampered bundle failed with %+v, want %s", c, appraisal.CodeBundleSignature)
	}

	byHash := func(hashes []string) func(*wire.Evidence) {
		return func(ev *wire.Evidence) { ev.Bundles, ev.BundlesSHA256 = nil, hashes }
	}
	tooMany := make([]string, 1025)
	for i := range tooMany {
		tooMany[i] = goodHashes[0]
	}
	tests := []struct {
		name   string
		forget bool // the memo is empty: the store answers
		ev     func(*wire.Evidence)
		want   string // the verdict sent in full it must equal, or
		code   string // the refusal
	}{
		{"the host's bundles by hash", false, byHash(goodHashes), "good", ""},
		{"by hash, from the store", true, byHash(goodHashes), "good", ""},
		{"the bundles and their hashes", false, func(ev *wire.Evidence) { ev.BundlesSHA256 = goodHashes }, "good", ""},
		{"log and bundles by hash", false, func(ev *wire.Evidence) {
			byHash(goodHashes)(ev)
			ev.EventLogSHA256, ev.EventLog = hashOf(ev.EventLog), nil
		}, "good", ""},
		{"the tampered file by its own hash fails", false, byHash(tamperedHashes), "tampered", ""},
		{"the tampered file by its own hash, from the store", true, byHash(tamperedHashes), "tampered", ""},
		{"a hash the verifier does not hold", true,
			byHash([]string{goodHashes[0], hashOf([]byte("never sent")), goodHashes[2]}), "", wire.CodeBundlesUnknown},
		{"not a hash", false, byHash([]string{"../../etc/passwd"}), "", wire.CodeBundlesUnknown},
		{"a hash in capitals", false, byHash([]string{strings.ToUpper(goodHashes[0])}), "", wire.CodeBundlesUnknown},
		{"more hashes than the verifier takes", false, byHash(tooMany), "", wire.CodeBundlesUnknown},
		{"the tampered file sent under the good file's hash", false, func(ev *wire.Evidence) {
			ev.Bundles, ev.BundlesSHA256 = tampered, goodHashes
		}, "", "evidence.bundles_mismatch"},
		{"hashes in another order than the files", false, func(ev *wire.Evidence) {
			ev.BundlesSHA256 = []string{goodHashes[1], goodHashes[0], goodHashes[2]}
		}, "", "evidence.bundles_mismatch"},
		{"fewer hashes than files", false, func(ev *wire.Evidence) { ev.BundlesSHA256 = goodHashes[:2] }, "",
			"evidence.bundles_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.forget {
				f.v.ForgetBundles()
			}
			h, full := evidence()
			sent := *full
			tt.ev(&sent)
			if tt.code != "" {
				_, err := f.v.Submit(ctx, h, &sent)
				if e, ok := verifier.AsError(err); !ok || e.Code != tt.code {
					t.Fatalf("Submit: %v, want refusal %s", err, tt.code)
				}
				// Refused before it was judged: the nonce still answers.
				if res, err := f.v.Submit(ctx, h, full); err != nil || res.Status != store.StatusPassed {
					t.Fatalf("the same nonce with the files: %+v, %v; want Passed", res, err)
				}
				return
			}
			res, vd := verdictOf(h, &sent)
			if d := cmp.Diff(want[tt.want], vd); d != "" {
				t.Errorf("verdict differs from the %s bundles sent in full (-sent +by hash):\n%s", tt.want, d)
			}
			wantHashes := goodHashes
			if tt.want == "tampered" {
				wantHashes = tamperedHashes
			}
			if !cmp.Equal(res.BundlesSHA256, wantHashes) {
				t.Errorf("result holds bundles %v, want %v", res.BundlesSHA256, wantHashes)
			}
			se, err := f.v.LatestEvidence(ctx, h.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got := hashesOf(se.Evidence.Bundles); !cmp.Equal(got, wantHashes) || se.Evidence.BundlesSHA256 != nil {
				t.Errorf("stored evidence: bundles %v and hash field %v, want bundles %v and no hash field", got,
					se.Evidence.BundlesSHA256, wantHashes)
			}
		})
	}
}

func hashesOf(files [][]byte) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = hashOf(f)
	}
	return out
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func firstFailed(vd *appraisal.Verdict) *appraisal.Check {
	for _, c := range vd.Checks {
		if !c.Passed {
			return &c
		}
	}
	return nil
}

// tamperSignature returns a bundle file whose signature has one bit
// changed: it still parses, and fails its signature check.
func tamperSignature(t *testing.T, file []byte) []byte {
	t.Helper()
	var env bundle.Envelope
	if err := json.Unmarshal(file, &env); err != nil || len(env.Signature) == 0 {
		t.Fatalf("not a signed bundle file: %v", err)
	}
	env.Signature[len(env.Signature)/2] ^= 1
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
