package appraisal

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

var update = flag.Bool("update", false, "rewrite the golden verdicts in testdata/verdicts")

// TestVerdictGolden pins the whole verdict (checks, messages, evidence,
// components) of representative hosts, as the report and API show them.
// Rewrite with: go test ./internal/appraisal -run VerdictGolden -update
func TestVerdictGolden(t *testing.T) {
	golden := goldenPolicy(t)
	tests := []struct {
		name     string
		boot     bootOpts
		evidence func(h *simHost) *wire.Evidence
		policy   func(p *policy.Policy)
	}{
		{name: "passed", boot: sb},
		{name: "secureboot-off", boot: bootOpts{}},
		{name: "kernel-not-in-references", boot: bootOpts{secureBoot: true, kernel: otherKernel}},
		{name: "log-edited", boot: bootOpts{secureBoot: true, extra: []measurement{{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/x\x00"),
			logDigests: map[eventlog.Alg][]byte{eventlog.SHA256: make([]byte, 32)}}}}},
		{name: "quote-over-some-pcrs", boot: sb, evidence: func(h *simHost) *wire.Evidence { return h.evidence(pcrRange(0, 3)) }},
		{name: "secureboot-variable-lie", boot: bootOpts{sbLie: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := boot(t, testBanks, standardBoot(t, tt.boot))
			ev := h.evidence(nil)
			if tt.evidence != nil {
				ev = tt.evidence(h)
			}
			p := golden.Clone()
			if tt.policy != nil {
				tt.policy(p)
			}
			v, err := Appraise(Input{Evidence: ev, AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			v.Clock = nil // the simulator's clock runs in real time
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			compareGolden(t, filepath.Join("testdata", "verdicts", tt.name+".json"), got)
		})
	}
}
