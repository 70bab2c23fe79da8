package ima

import (
	"bytes"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
)

// TestReferenceTPM has the reference TPM (the simulator the e2e harness
// uses) do the extends a kernel asks of it, in both modes, and proves the
// list against the PCRs the TPM then holds: the replay's arithmetic is
// checked against the TPM's, not against this package's own.
func TestReferenceTPM(t *testing.T) {
	for _, mode := range []Mode{ModeBankHash, ModeSHA1Padded} {
		t.Run(mode.String(), func(t *testing.T) {
			dev, err := tpm.OpenSimulator(22)
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			banks, err := dev.Banks()
			if err != nil || len(banks) < 2 {
				t.Fatalf("banks %v, %v: want SHA-1 and at least one other", banks, err)
			}
			t.Logf("the reference TPM's banks: %v", banks)
			for pcr := 0; pcr < 10; pcr++ { // the boot the firmware measured
				if err := dev.Extend(pcr, eventlog.Digests(banks, []byte{byte(pcr), 'b'})); err != nil {
					t.Fatal(err)
				}
			}
			boot := readPCRs(t, dev, banks)
			// The kernel's boot_aggregate (5.8+, SHA-256 bank): PCRs 0-9 of that bank.
			agg := aggregateOf(eventlog.SHA256, eventlog.SHA256, boot, 10)
			es := append([]raw{entryOf(10, "ima-ng", false, dng("sha256", agg), nng("boot_aggregate"))}, sampleLog()[1:]...)
			for _, e := range es {
				if err := dev.Extend(int(e.pcr), kernelDigests(e, banks, mode)); err != nil {
					t.Fatal(err)
				}
			}
			quoted := readPCRs(t, dev, banks)
			entries := mustParse(t, join(es...))
			st, n, err := State{}.Prove(entries, quoted)
			if err != nil || n != len(es) || st.Mode != mode {
				t.Fatalf("Prove: %d of %d entries, mode %v, %v; want all, mode %v", n, len(es), st.Mode, err, mode)
			}
			for _, a := range banks {
				if !bytes.Equal(st.Values[a][10], quoted[a][10]) {
					t.Errorf("%v PCR 10: state %x, TPM %x", a, st.Values[a][10], quoted[a][10])
				}
			}
			got, err := CheckBootAggregate(&entries[0], quoted)
			if err != nil || got.Kind != AggregateBank || got.Bank != eventlog.SHA256 {
				t.Errorf("boot aggregate: %+v, %v; want the SHA-256 bank's PCRs 0-9", got, err)
			}
		})
	}
}

// kernelDigests is what a kernel passes to TPM2_PCR_Extend for an entry.
func kernelDigests(e raw, banks []eventlog.Alg, mode Mode) []eventlog.Digest {
	var out []eventlog.Digest
	for _, a := range banks {
		out = append(out, eventlog.Digest{Alg: a, Value: kernelDigest(e, a, mode)})
	}
	return out
}

func readPCRs(t *testing.T, dev *tpm.Device, banks []eventlog.Alg) PCRs {
	t.Helper()
	out := PCRs{}
	for _, a := range banks {
		vals, err := dev.ReadPCRs(a)
		if err != nil {
			t.Fatal(err)
		}
		out[a] = map[uint32][]byte{}
		for i, v := range vals {
			out[a][uint32(i)] = v
		}
	}
	return out
}
