package verifier_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestSubmitEventLogTooLarge: a log one byte over wire.MaxEventLogBytes is
// refused with its code and kind before anything is recorded (the nonce
// stays unrecorded); a log at the limit is judged and recorded (zeros after
// the events are the end of the log to the parser, as firmware leaves them).
func TestSubmitEventLogTooLarge(t *testing.T) {
	ctx := context.Background()
	f := newBenchFleet(t, 1)
	bh := f.hosts[0]
	var h store.Host
	attest := func(pad func(log []byte) []byte) (wire.EvidenceResult, error) {
		t.Helper()
		var ev *wire.Evidence
		h, ev = f.freshEvidence(t, bh)
		ev.EventLog = pad(ev.EventLog)
		return f.v.Submit(ctx, h, ev)
	}
	to := func(size int) func([]byte) []byte {
		return func(log []byte) []byte { return append(bytes.Clone(log), make([]byte, size-len(log))...) }
	}
	_, err := attest(to(wire.MaxEventLogBytes + 1))
	if e, ok := verifier.AsError(err); !ok || e.Kind != verifier.KindTooLarge || e.Code != wire.CodeEventLogTooLarge {
		t.Fatalf("a log of %d bytes: %v; want %s (too large)", wire.MaxEventLogBytes+1, err, wire.CodeEventLogTooLarge)
	}
	if _, err := f.v.Store().LatestEvidence(ctx, h.Name); err == nil {
		t.Error("evidence with a log over the limit was recorded")
	}
	res, err := attest(to(wire.MaxEventLogBytes))
	if err != nil || res.Status != store.StatusPassed {
		t.Errorf("a log at the limit: %+v, %v; want judged Passed", res, err)
	}
	if le, err := f.v.Store().LatestEvidence(ctx, h.Name); err != nil || le.At.IsZero() {
		t.Errorf("evidence with a log at the limit: %v; want recorded", err)
	}
}
