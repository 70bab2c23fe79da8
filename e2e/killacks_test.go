package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/loadgen"
)

// TestVerifierKilledMidAttestation kills the verifier with SIGKILL while
// 16 simulated hosts (bootproof loadgen) attest every second, restarts it
// on the same data, and holds it to every acknowledgement: each 200 the
// load generator got (its --acks list) must be a stored attestation of
// that host, recorded between the evidence going out and the answer
// coming back; at most one attestation per host (its answer lost in the
// kill) is stored without an acknowledgement; and the hosts are served
// again after the restart without help.
func TestVerifierKilledMidAttestation(t *testing.T) {
	f := newFleet(t)
	const hosts = 16
	ackFile := filepath.Join(f.dir, "acks.jsonl")
	lg := start(t, "loadgen", "--url", f.url, "--token", adminToken(t, f), "--ca", f.caFile(),
		"--maker-ca", filepath.Join(f.dir, "maker"), "--hosts", fmt.Sprint(hosts), "--fail-share", "0",
		"--interval", "1s", "--duration", "15s", "--acks", ackFile)
	eventually(t, 60*time.Second, func() string {
		if n := len(readAcks(t, ackFile)); n < 2*hosts {
			return fmt.Sprintf("%d attestations acknowledged, waiting for %d", n, 2*hosts)
		}
		return ""
	})
	killed := time.Now()
	f.verifier.kill()
	f.startVerifier()
	restarted := time.Now()
	select {
	case <-lg.done:
	case <-time.After(90 * time.Second):
		t.Fatal("the load generator did not finish")
	}
	acks := readAcks(t, ackFile)
	before, after := 0, 0
	for _, a := range acks {
		switch {
		case a.Acked.Before(killed):
			before++
		case a.Sent.After(restarted):
			after++
		}
	}
	t.Logf("%d acknowledged before the kill, %d sent after the restart, %d in all", before, after, len(acks))
	if before == 0 || after == 0 {
		t.Fatalf("acknowledged before the kill %d, after the restart %d: want both", before, after)
	}
	byHost := map[string][]loadgen.Ack{}
	for _, a := range acks {
		byHost[a.Host] = append(byHost[a.Host], a)
	}
	if len(byHost) != hosts {
		t.Errorf("%d hosts had an acknowledgement, want all %d", len(byHost), hosts)
	}
	for host, hostAcks := range byHost {
		stored, err := attestationsOf(f.admin, host)
		if err != nil {
			t.Fatalf("attestations of %s: %v", host, err)
		}
		if msg := matchAcks(hostAcks, stored); msg != "" {
			t.Errorf("%s: %s", host, msg)
		}
	}
}

// readAcks decodes the load generator's --acks file, one loadgen.Ack a
// line; a line still being written is left for the next read.
func readAcks(t *testing.T, path string) []loadgen.Ack {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1] // a line still being written waits
	var out []loadgen.Ack
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var a loadgen.Ack
		if err := dec.Decode(&a); err != nil || a.Host == "" || len(a.Nonce) == 0 || a.Sent.IsZero() || a.Acked.Before(a.Sent) {
			t.Fatalf("%s line %d: not an acknowledgement: %v %q", path, len(out)+1, err, sc.Text())
		}
		out = append(out, a)
	}
	return out
}

// matchAcks says what is wrong ("" when nothing) with one host's stored
// attestations against its acknowledgements: each acknowledgement needs
// its own record made between its evidence going out and its answer
// coming back (a host attests one at a time, so the windows do not
// overlap), and at most one record may have no acknowledgement (the
// answer the kill cut off).
func matchAcks(acks []loadgen.Ack, stored []api.Attestation) string {
	slices.SortFunc(acks, func(a, b loadgen.Ack) int { return a.Sent.Compare(b.Sent) })
	used := make([]bool, len(stored))
	for _, a := range acks {
		found := false
		for i, s := range stored {
			if !used[i] && s.Count == 1 && !s.At.Before(a.Sent.Truncate(time.Microsecond)) && !s.At.After(a.Acked) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Sprintf("the attestation acknowledged at %s (sent %s, %s) is not stored: %d acknowledged, %d stored",
				a.Acked.Format(time.StampMicro), a.Sent.Format(time.StampMicro), a.Status, len(acks), len(stored))
		}
	}
	if extra := len(stored) - len(acks); extra > 1 {
		return fmt.Sprintf("%d attestations stored that were never acknowledged, want at most 1 (the answer lost in the kill)", extra)
	}
	return ""
}
