package verifier_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// emulatedRecord is one attestation of an emulated host: its evidence, the
// AK it was checked with, and the verdict.
type emulatedRecord struct {
	profile  emuhost.Profile
	evidence *wire.Evidence
	ak       []byte
	verdict  *appraisal.Verdict
}

// emulatedRecords appraises one attestation of every profile the load
// generator boots (Passed, and Failed for each kind of failure), with the
// load generator's policy.
func emulatedRecords(tb testing.TB) []emulatedRecord {
	tb.Helper()
	profiles := []emuhost.Profile{emuhost.Good, emuhost.OldKernel, emuhost.SecureBootOff, emuhost.TamperedKernel,
		emuhost.RogueBootloader, emuhost.UnsignedBundle, emuhost.CommunityBundle}
	ims, err := loadgen.BootImages(profiles)
	if err != nil {
		tb.Fatal(err)
	}
	maker, err := makerca.LoadOrCreate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	sim, err := loadgen.NewSimulatedTPM(loadgen.EKECC, loadgen.AKECC, maker, "record-json")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := loadgen.LoadPolicy(5 * time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{7}, 32)
	var out []emulatedRecord
	for _, prof := range profiles {
		ev, err := sim.Evidence(ims[prof], nonce, 60_000)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := appraisal.Appraise(appraisal.Input{Evidence: ev, AKPublic: sim.AKPublic, Nonce: nonce, Policy: p, Now: time.Now()})
		if err != nil {
			tb.Fatalf("%s: %v", prof, err)
		}
		if string(v.Status) != ims[prof].Expect {
			tb.Fatalf("%s: %s, want %s", prof, v.Status, ims[prof].Expect)
		}
		out = append(out, emulatedRecord{profile: prof, evidence: ev, ak: sim.AKPublic, verdict: v})
	}
	return out
}

// TestRecordJSONOfEmulatedHosts: for the verdicts and evidence of real
// appraisals, of every outcome the emulated chain has, the hand-written
// encoders write encoding/json's bytes, without encoding/json's
// allocations (523 for a good host's record).
func TestRecordJSONOfEmulatedHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every emulated profile; skipped with -short")
	}
	records := emulatedRecords(t)
	good := records[0]
	allocs := testing.AllocsPerRun(20, func() {
		if err := verifier.EncodeRecord(good.evidence, good.ak, good.verdict); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 40 {
		t.Errorf("encoding a good host's record took %.0f allocations, want at most 40", allocs)
	}
	for _, r := range records {
		for what, pair := range map[string]struct {
			got []byte
			v   any
		}{
			"verdict":  {verifier.VerdictJSON(r.verdict), r.verdict},
			"evidence": {verifier.EvidenceJSON(r.evidence), r.evidence},
		} {
			want, err := json.Marshal(pair.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pair.got, want) {
				t.Errorf("%s: %s differs from json.Marshal:\n got %.400s\nwant %.400s", r.profile, what, pair.got, want)
			}
		}
	}
}

// BenchmarkRecordJSON encodes what recording an attestation of a good host
// stores (evidence JSON, its PCR values' blob, the verdict blob and its
// reference), as Submit does after the appraisal.
func BenchmarkRecordJSON(b *testing.B) {
	r := emulatedRecords(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if err := verifier.EncodeRecord(r.evidence, r.ak, r.verdict); err != nil {
			b.Fatal(err)
		}
	}
}
