package loadgen_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/loadgen"
)

// TestAcksListEveryAcknowledgement: with Config.Acks set, the run writes
// one Ack line per attestation it counted, each naming its host, nonce,
// verdict and a send-to-answer window; the crash tests rely on the list
// being complete.
func TestAcksListEveryAcknowledgement(t *testing.T) {
	if testing.Short() {
		t.Skip("load run: skipped with -short")
	}
	cfg := startVerifier(t, 0)
	var buf bytes.Buffer
	cfg.Hosts, cfg.FailShare, cfg.Interval, cfg.Duration, cfg.Acks = 8, 0, time.Second, 2*time.Second, &buf
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	nonces := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var a loadgen.Ack
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if !strings.HasPrefix(a.Host, "load-") || len(a.Nonce) == 0 || a.Status != "Passed" || a.Sent.IsZero() || a.Acked.Before(a.Sent) {
			t.Errorf("acknowledgement %+v: want a load host, a nonce, Passed and sent before acknowledged", a)
		}
		if nonces[string(a.Nonce)] {
			t.Errorf("nonce of %+v listed twice", a)
		}
		nonces[string(a.Nonce)] = true
	}
	if len(nonces) != rep.Attestations || rep.Attestations < cfg.Hosts {
		t.Errorf("%d acknowledgements listed, the run counted %d attestations of %d hosts", len(nonces), rep.Attestations, cfg.Hosts)
	}
}
