package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// Evidence is stored without its event log and bundle files: they are the
// bulk of it (about 17 of 25 KB as JSON for the emulated chain) and change
// only when a host's boot does, so the store keeps each once by SHA-256 for
// all hosts and records (store.Blob), and the stored evidence JSON names
// them in two fields beside wire.Evidence's own. Evidence stored before has
// no such fields and holds its log and bundles inline; it reads back as it
// is.

// blobRefs are the fields stored evidence JSON has in place of the event
// log and bundles.
type blobRefs struct {
	EventLogSHA256 string   `json:"event_log_sha256,omitempty"`
	BundlesSHA256  []string `json:"bundles_sha256,omitempty"`
}

func (r blobRefs) empty() bool { return r.EventLogSHA256 == "" && len(r.BundlesSHA256) == 0 }

// hashes lists every hash r names, the event log first.
func (r blobRefs) hashes() []string {
	var hs []string
	if r.EventLogSHA256 != "" {
		hs = append(hs, r.EventLogSHA256)
	}
	return append(hs, r.BundlesSHA256...)
}

func newBlob(data []byte) store.Blob {
	sum := sha256.Sum256(data)
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: data}
}

// splitEvidence returns the JSON to store for ev and the blobs it names.
// ev is not changed.
func splitEvidence(ev *wire.Evidence) ([]byte, []store.Blob, error) {
	slim := *ev
	slim.EventLog, slim.Bundles = nil, nil
	var refs blobRefs
	var blobs []store.Blob
	if len(ev.EventLog) > 0 {
		b := newBlob(ev.EventLog)
		refs.EventLogSHA256, blobs = b.SHA256, append(blobs, b)
	}
	for _, data := range ev.Bundles {
		b := newBlob(data)
		refs.BundlesSHA256, blobs = append(refs.BundlesSHA256, b.SHA256), append(blobs, b)
	}
	body, err := json.Marshal(&slim)
	if err != nil {
		return nil, nil, fmt.Errorf("encode evidence: %w", err)
	}
	if refs.empty() {
		return body, nil, nil
	}
	extra, err := json.Marshal(refs)
	if err != nil {
		return nil, nil, fmt.Errorf("encode evidence blob hashes: %w", err)
	}
	joined, err := joinObjects(body, extra)
	if err != nil {
		return nil, nil, err
	}
	return joined, blobs, nil
}

// joinObjects merges two JSON objects with distinct keys into one. It works
// on the encoded text so that wire.Evidence keeps its own encoding.
func joinObjects(a, b []byte) ([]byte, error) {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if len(a) < 2 || a[0] != '{' || a[len(a)-1] != '}' || len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("encode evidence: %.20q and %.20q are not both JSON objects", a, b)
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	if len(a) > 2 && len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// errBlobMissing: stored evidence names a blob the store no longer has (a
// prune ran between reading the evidence and its blobs).
var errBlobMissing = errors.New("a blob the evidence names is not stored")

// ExpandEvidence returns stored evidence JSON (a latest evidence's or a
// status change's) as the agent sent it, its event log and bundles read
// back from the store. Evidence stored before blobs existed is decoded as
// it is.
func (v *Verifier) ExpandEvidence(ctx context.Context, stored []byte) (*wire.Evidence, error) {
	return expandEvidence(stored, func(hashes []string) (map[string][]byte, error) {
		return v.st.GetBlobs(ctx, hashes)
	})
}

// expandEvidence is ExpandEvidence with the blobs read by getBlobs.
func expandEvidence(stored []byte, getBlobs func([]string) (map[string][]byte, error)) (*wire.Evidence, error) {
	var ev wire.Evidence
	if err := json.Unmarshal(stored, &ev); err != nil {
		return nil, fmt.Errorf("decode stored evidence: %w", err)
	}
	var refs blobRefs
	if err := json.Unmarshal(stored, &refs); err != nil {
		return nil, fmt.Errorf("decode stored evidence's blob hashes: %w", err)
	}
	if refs.empty() {
		return &ev, nil
	}
	blobs, err := getBlobs(refs.hashes())
	if err != nil {
		return nil, fmt.Errorf("read evidence blobs: %w", err)
	}
	get := func(h string) ([]byte, error) {
		data, ok := blobs[h]
		if !ok {
			return nil, fmt.Errorf("blob %.80s: %w", h, errBlobMissing)
		}
		if data == nil {
			data = []byte{}
		}
		return data, nil
	}
	if refs.EventLogSHA256 != "" {
		if ev.EventLog, err = get(refs.EventLogSHA256); err != nil {
			return nil, fmt.Errorf("event log: %w", err)
		}
	}
	if len(refs.BundlesSHA256) > 0 {
		ev.Bundles = make([][]byte, len(refs.BundlesSHA256))
		for i, h := range refs.BundlesSHA256 {
			if ev.Bundles[i], err = get(h); err != nil {
				return nil, fmt.Errorf("bundle %d: %w", i, err)
			}
		}
	}
	return &ev, nil
}

// LatestEvidence returns the evidence of host's latest attestation as the
// agent sent it, and when it was recorded (store.ErrNotFound when the host
// has none).
func (v *Verifier) LatestEvidence(ctx context.Context, host string) (*wire.Evidence, time.Time, error) {
	// A prune may delete the blobs of evidence replaced after it was read;
	// the evidence read again names blobs the prune kept.
	for try := 0; ; try++ {
		le, err := v.st.LatestEvidence(ctx, host)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("latest evidence of %s: %w", host, err)
		}
		ev, err := v.ExpandEvidence(ctx, le.Evidence)
		if errors.Is(err, errBlobMissing) && try == 0 {
			continue
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("latest evidence of %s: %w", host, err)
		}
		return ev, le.At, nil
	}
}
