package verifier_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestSubmitEventLogByHash: evidence may name its event log by the hash the
// verifier said it holds; the log is judged as if sent (a log that is not
// the host's own fails the replay), a hash the verifier does not hold or
// that is not the log's is refused without using up the nonce, and the
// stored evidence holds the log either way.
func TestSubmitEventLogByHash(t *testing.T) {
	ctx := context.Background()
	f := newBenchFleet(t, 10) // host 9 boots with Secure Boot off: another log
	good, other := f.hosts[0], f.hosts[9]
	hashOf := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	goodLog, otherLog := hashOf(good.im.EventLog), hashOf(other.im.EventLog)

	evidence := func(bh *benchHost) (store.Host, *wire.Evidence) { return f.freshEvidence(t, bh) }
	byHash := func(ev *wire.Evidence, hash string) *wire.Evidence {
		slim := *ev
		slim.EventLog, slim.EventLogSHA256 = nil, hash
		return &slim
	}

	// Each host attests once with its log: the verifier says it holds it.
	for _, bh := range []*benchHost{good, other} {
		h, ev := evidence(bh)
		res, err := f.v.Submit(ctx, h, ev)
		if err != nil {
			t.Fatal(err)
		}
		if want := hashOf(bh.im.EventLog); res.EventLogSHA256 != want {
			t.Fatalf("%s: result holds log %q, want %q", h.Name, res.EventLogSHA256, want)
		}
	}

	tests := []struct {
		name       string
		forget     bool // the memo is empty: the store answers
		ev         func(*wire.Evidence) *wire.Evidence
		wantStatus string
		wantCode   string
	}{
		{"the host's own log by hash", false, func(ev *wire.Evidence) *wire.Evidence { return byHash(ev, goodLog) },
			store.StatusPassed, ""},
		{"by hash, from the store", true, func(ev *wire.Evidence) *wire.Evidence { return byHash(ev, goodLog) },
			store.StatusPassed, ""},
		{"the log and its hash", false, func(ev *wire.Evidence) *wire.Evidence { ev.EventLogSHA256 = goodLog; return ev },
			store.StatusPassed, ""},
		{"another host's log by hash fails the replay", false,
			func(ev *wire.Evidence) *wire.Evidence { return byHash(ev, otherLog) }, store.StatusFailed, ""},
		{"a hash the verifier does not hold", true,
			func(ev *wire.Evidence) *wire.Evidence { return byHash(ev, hashOf([]byte("never sent"))) }, "", wire.CodeEventLogUnknown},
		{"not a hash", false, func(ev *wire.Evidence) *wire.Evidence { return byHash(ev, "../../etc/passwd") }, "", wire.CodeEventLogUnknown},
		{"a hash that is not the log's", false,
			func(ev *wire.Evidence) *wire.Evidence { ev.EventLogSHA256 = otherLog; return ev }, "", "evidence.event_log_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.forget {
				f.v.ForgetEventLogs()
			}
			h, full := evidence(good)
			res, err := f.v.Submit(ctx, h, tt.ev(full))
			if tt.wantCode != "" {
				if e, ok := verifier.AsError(err); !ok || e.Code != tt.wantCode {
					t.Fatalf("Submit: %v, want refusal %s", err, tt.wantCode)
				}
				// Refused before it was judged: the nonce still answers.
				full.EventLogSHA256 = ""
				if res, err = f.v.Submit(ctx, h, full); err != nil || res.Status != store.StatusPassed {
					t.Fatalf("the same nonce with the log: %+v, %v; want Passed", res, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("status %s (%s), want %s", res.Status, res.Reason, tt.wantStatus)
			}
			se, err := f.v.LatestEvidence(ctx, h.Name)
			if err != nil {
				t.Fatal(err)
			}
			wantLog := goodLog
			if tt.wantStatus == store.StatusFailed {
				wantLog = otherLog
			}
			if got := hashOf(se.Evidence.EventLog); got != wantLog || se.Evidence.EventLogSHA256 != "" {
				t.Errorf("stored evidence: log %s and hash field %q, want log %s and no hash field", got,
					se.Evidence.EventLogSHA256, wantLog)
			}
		})
	}
}
