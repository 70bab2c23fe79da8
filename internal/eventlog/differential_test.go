package eventlog_test

import (
	"bytes"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-attestation/attest"
)

// TestDifferentialGoAttestation parses every corpus log with Parse and with
// go-attestation's attest.ParseEventLog and checks both see the same events
// with the same PCRs, types, data and digests in every bank Go can hash.
func TestDifferentialGoAttestation(t *testing.T) {
	compared := 0
	for _, c := range corpusCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			ours, ourErr := eventlog.Parse(c.Log)
			theirs, theirErr := attest.ParseEventLog(c.Log)
			if theirErr != nil {
				// go-attestation refuses logs with an SM3 bank (the H-CRTM
				// case) and the ones nobody should accept.
				t.Logf("go-attestation refuses: %v; bootproof: %v", theirErr, ourErr)
				return
			}
			if ourErr != nil {
				if c.Meta.ExpectParse == "error" {
					t.Logf("bootproof refuses a log go-attestation accepts, as the case expects: %v", ourErr)
					return
				}
				t.Fatalf("Parse: %v (go-attestation accepts it)", ourErr)
			}
			ourEvents := ours.Events
			if ours.Format == eventlog.FormatCryptoAgile {
				ourEvents = ourEvents[1:] // go-attestation leaves out the Spec ID event
			}
			for _, alg := range theirs.Algs {
				bank := eventlog.Alg(alg) // attest.HashAlg is the TPM algorithm ID
				if _, ok := bank.Hash(); !ok {
					continue
				}
				te := theirs.Events(alg)
				if len(te) != len(ourEvents) {
					t.Fatalf("%v: %d events, go-attestation %d", bank, len(ourEvents), len(te))
				}
				for i, e := range te {
					o := ourEvents[i]
					if o.PCR != e.Index || uint32(o.Type) != uint32(e.Type) || !bytes.Equal(o.Data, e.Data) {
						t.Fatalf("event %d: {PCR %d %v %d bytes}, go-attestation {PCR %d %v %d bytes}", o.Index, o.PCR, o.Type, len(o.Data), e.Index, e.Type, len(e.Data))
					}
					d, _ := o.Digest(bank)
					if !bytes.Equal(d, e.Digest) {
						t.Fatalf("event %d %v digest %x, go-attestation %x", o.Index, bank, d, e.Digest)
					}
				}
			}
			compared++
		})
	}
	t.Logf("%d logs compared event by event", compared)
}
