package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/bootproof/bootproof/internal/wire"
)

// TestEventLogByHash: once the verifier says it holds the host's event log,
// the agent sends the log's hash in its place while the log is unchanged,
// sends the log itself again when the verifier no longer holds it, and
// whenever the log changes.
func TestEventLogByHash(t *testing.T) {
	var mu sync.Mutex
	var got []wire.Evidence
	forget := false // the verifier's answer to the next hash-only evidence
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev wire.Evidence
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("decode evidence: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		refuse := forget && len(ev.EventLog) == 0
		forget = forget && !refuse
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(wire.Error{Code: wire.CodeEventLogUnknown, Message: "send the log"})
			return
		}
		held := ev.EventLogSHA256
		if len(ev.EventLog) > 0 {
			held = hashHex(ev.EventLog)
		}
		json.NewEncoder(w).Encode(wire.EvidenceResult{Status: "Passed", IntervalSeconds: 60, EventLogSHA256: held})
	}))
	defer srv.Close()
	a := newTestAgent(t, srv)
	logA, logB := bytes.Repeat([]byte("boot A "), 100), bytes.Repeat([]byte("boot B "), 100)

	steps := []struct {
		name   string
		log    []byte
		forget bool
		// sent is what each POST carried: the log ("log") or its hash ("hash").
		sent []string
	}{
		{"first attestation: the log", logA, false, []string{"log"}},
		{"unchanged: the hash", logA, false, []string{"hash"}},
		{"the verifier lost it: the hash, then the log", logA, true, []string{"hash", "log"}},
		{"held again: the hash", logA, false, []string{"hash"}},
		{"changed: the new log", logB, false, []string{"log"}},
	}
	for _, s := range steps {
		mu.Lock()
		got, forget = nil, s.forget
		mu.Unlock()
		ev := &wire.Evidence{Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, EventLog: s.log}
		res, err := a.submit(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Status != "Passed" {
			t.Errorf("%s: status %q", s.name, res.Status)
		}
		mu.Lock()
		var sent []string
		for _, e := range got {
			switch {
			case len(e.EventLog) > 0 && bytes.Equal(e.EventLog, s.log) && e.EventLogSHA256 == "":
				sent = append(sent, "log")
			case len(e.EventLog) == 0 && e.EventLogSHA256 == hashHex(s.log):
				sent = append(sent, "hash")
			default:
				sent = append(sent, "wrong")
			}
		}
		mu.Unlock()
		if !slices.Equal(sent, s.sent) {
			t.Errorf("%s: sent %v, want %v", s.name, sent, s.sent)
		}
		if !bytes.Equal(ev.EventLog, s.log) {
			t.Errorf("%s: the agent's own evidence lost its log", s.name)
		}
	}
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
