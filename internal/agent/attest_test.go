package agent

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/tpm/tpmtest"
	"github.com/bootproof/bootproof/internal/wire"
)

// oneBankTPM is a TPM that refuses a quote over several banks, as a TPM
// may: the agent must then quote each bank on its own.
type oneBankTPM struct{ DeviceTPM }

func (o oneBankTPM) Quote(ak AK, nonce []byte, banks []string) ([]byte, []byte, map[string]map[int][]byte, error) {
	if len(banks) > 1 {
		return nil, nil, nil, errors.New("TPM_RC_VALUE: pcrSelect of several banks")
	}
	return o.DeviceTPM.Quote(ak, nonce, banks)
}

// TestGatherQuotes checks the quotes the agent sends on the reference TPM:
// one over every bank, or, when the TPM refuses that, one per bank; either
// way the verifier's appraisal accepts them and every bank is proven.
func TestGatherQuotes(t *testing.T) {
	dev := DeviceTPM{Dev: tpmtest.NewSimulator(t, 31)}
	banks, err := dev.Banks()
	if err != nil {
		t.Fatal(err)
	}
	if len(banks) < 2 {
		t.Fatalf("the reference TPM has %d banks; the test needs several", len(banks))
	}
	ak, err := dev.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		tpm        TPM
		wantQuotes int
	}{
		{"one quote over all banks", dev, 1},
		{"a TPM that refuses several banks", oneBankTPM{dev}, len(banks)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &Agent{cfg: Config{TPM: tt.tpm, Family: wire.FamilyTPM20}, ak: ak,
				log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			nonce := bytes.Repeat([]byte{7}, 32)
			ev, err := a.gather(nonce)
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			if len(ev.Quotes) != tt.wantQuotes {
				t.Fatalf("sent %d quotes, want %d", len(ev.Quotes), tt.wantQuotes)
			}
			p := policy.Default()
			p.SecureBootRequired = false
			v, err := appraisal.Appraise(appraisal.Input{Evidence: ev, AKPublic: ak.Public(), Nonce: nonce, Policy: p, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			// Without an event log the host fails, but only for the log:
			// every quote must hold and every bank be proven.
			for _, c := range v.Failures() {
				if c.Code != appraisal.CodeEventLogParse {
					t.Errorf("failed check %s: %s", c.Code, c.Message)
				}
			}
			for _, b := range banks {
				if len(v.PCRs[b]) != 24 {
					t.Errorf("bank %s: %d PCRs proven, want 24", b, len(v.PCRs[b]))
				}
			}
			if !slices.ContainsFunc(v.Checks, func(c appraisal.Check) bool { return c.Code == appraisal.CodeQuoteSignature && c.Passed }) {
				t.Error("no passed quote.signature check")
			}
		})
	}
}
