package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/wire"
)

// agentBodies are evidence bodies as an emulated host's agent sends them:
// "full" with its event log and bundle files (a first attestation), "held"
// naming them by hash (every later one: what a fleet's verifier decodes).
func agentBodies(tb testing.TB) map[string][]byte {
	tb.Helper()
	maker, err := makerca.LoadOrCreate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	ims, err := loadgen.BootImages([]emuhost.Profile{emuhost.Good})
	if err != nil {
		tb.Fatal(err)
	}
	sim, err := loadgen.NewSimulatedTPM(loadgen.EKECC, loadgen.AKECC, maker, "decode-bench")
	if err != nil {
		tb.Fatal(err)
	}
	nonce := make([]byte, 32)
	full, err := sim.Evidence(ims[emuhost.Good], nonce, 60_000)
	if err != nil {
		tb.Fatal(err)
	}
	held := *full
	held.EventLog, held.EventLogSHA256 = nil, hexSHA256(full.EventLog)
	held.Bundles, held.BundlesSHA256 = nil, nil
	for _, b := range full.Bundles {
		held.BundlesSHA256 = append(held.BundlesSHA256, hexSHA256(b))
	}
	out := map[string][]byte{}
	for name, ev := range map[string]*wire.Evidence{"full": full, "held": &held} {
		if out[name], err = json.Marshal(ev); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BenchmarkDecodeEvidence decodes an agent's evidence body as the
// evidence handler does.
func BenchmarkDecodeEvidence(b *testing.B) {
	bodies := agentBodies(b)
	for _, name := range []string{"held", "full"} {
		body := bodies[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := api.DecodeEvidence(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
