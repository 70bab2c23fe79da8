package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// An agent whose event log is unchanged since its last attestation sends
// the log's hash instead of the log (wire.Evidence.EventLogSHA256): a
// firmware log is 20-100 KB, about 50 KB of base64 in JSON for the emulated
// chain, and decoding it was the largest cost of an attestation after TLS
// and the store. The verifier takes the log it holds under that hash,
// remembered here or read from the store's blobs, where every recorded
// log is kept by SHA-256.
//
// Trusting a log by its hash gives the host nothing it could not have by
// sending the log: the log is judged only by replaying it to the quoted PCR
// values, so a log that is not the host's own fails as it would if sent.

// heldLogMemoEntries and heldLogMemoMaxBytes bound the logs remembered
// (to 32 MiB): hosts that boot alike share a log, and a fleet of distinct
// logs, or of larger ones, reads them from the store.
const (
	heldLogMemoEntries  = 128
	heldLogMemoMaxBytes = 256 << 10
)

// resolveEventLog fills in ev's event log when ev names it by hash.
func (v *Verifier) resolveEventLog(ctx context.Context, ev *wire.Evidence) error {
	want := ev.EventLogSHA256
	if want == "" {
		return nil
	}
	if len(ev.EventLog) > 0 {
		sum := sha256.Sum256(ev.EventLog)
		if hex.EncodeToString(sum[:]) != want {
			return refuse(KindInvalid, "evidence.event_log_mismatch",
				"event_log_sha256 %.80q is not the SHA-256 of the event log sent", want)
		}
		return nil
	}
	if data, ok := v.logs.Get(want); ok {
		ev.EventLog = data
		return nil
	}
	blobs, err := v.st.GetBlobs(ctx, []string{want})
	if err != nil {
		return fmt.Errorf("read event log %.80s: %w", want, err)
	}
	data, ok := blobs[want]
	if !ok || len(data) == 0 {
		return refuse(KindConflict, wire.CodeEventLogUnknown,
			"the verifier holds no event log with SHA-256 %.80q; send the log itself", want)
	}
	v.remember(want, data)
	ev.EventLog = data
	return nil
}

// heldLog is the hash the verdict's result tells the agent the verifier
// holds its log under, remembering the log: blobs are the record's, the
// event log first.
func (v *Verifier) heldLog(ev *wire.Evidence, blobs []store.Blob) string {
	if len(ev.EventLog) == 0 || len(blobs) == 0 {
		return ""
	}
	v.remember(blobs[0].SHA256, ev.EventLog)
	return blobs[0].SHA256
}

func (v *Verifier) remember(hash string, log []byte) {
	if len(log) <= heldLogMemoMaxBytes {
		v.logs.Put(hash, log)
	}
}
