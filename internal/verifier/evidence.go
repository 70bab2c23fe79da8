package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// Evidence is stored without the parts that repeat from one attestation to
// the next: the event log, the bundle files and each quote's PCR values.
// They change only when a host's boot does, and they are nearly all of it
// (about 23 of 24 KB as JSON for the emulated chain), so the store keeps
// each once by SHA-256 for all hosts and records (store.Blob), and the
// stored evidence JSON names them in fields beside wire.Evidence's own.
// What is left per attestation is the nonce, the quotes' TPMS_ATTEST and
// signature, and the AK they were checked with: about 1.5 KB. Evidence
// stored before has no such fields and holds its parts inline; it reads
// back as it is.

// blobRefs are the fields stored evidence JSON has in place of its
// repeating parts.
type blobRefs struct {
	EventLogSHA256 string   `json:"event_log_sha256,omitempty"`
	BundlesSHA256  []string `json:"bundles_sha256,omitempty"`
	// QuotePCRsSHA256 has one entry per quote: the hash of its PCR values
	// as JSON, or "" for a quote sent without them.
	QuotePCRsSHA256 []string `json:"quote_pcrs_sha256,omitempty"`
	// AKPublic is the TPMT_PUBLIC of the AK the quotes were checked with,
	// as enrolled when they were. It is kept inline, not as a blob: it is
	// the host's own (120 to 400 bytes), and as a blob it would make every
	// host's blob set its own, where hosts that boot alike share one.
	AKPublic []byte `json:"ak_public,omitempty"`
}

func (r blobRefs) empty() bool {
	return r.EventLogSHA256 == "" && len(r.BundlesSHA256) == 0 && len(r.QuotePCRsSHA256) == 0 && len(r.AKPublic) == 0
}

// hashes lists every hash r names, the event log first.
func (r blobRefs) hashes() []string {
	var hs []string
	if r.EventLogSHA256 != "" {
		hs = append(hs, r.EventLogSHA256)
	}
	hs = append(hs, r.BundlesSHA256...)
	for _, h := range r.QuotePCRsSHA256 {
		if h != "" {
			hs = append(hs, h)
		}
	}
	return hs
}

func newBlob(data []byte) store.Blob {
	sum := sha256.Sum256(data)
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: data}
}

// splitEvidence returns the JSON to store for ev, checked with the AK
// akPublic (nil: none), and the blobs it names, the event log first. ev is
// not changed.
func splitEvidence(ev *wire.Evidence, akPublic []byte) ([]byte, []store.Blob, error) {
	slim := *ev
	slim.EventLog, slim.EventLogSHA256, slim.Bundles, slim.BundlesSHA256 = nil, "", nil, nil
	var refs blobRefs
	var blobs []store.Blob
	add := func(data []byte) string {
		b := newBlob(data)
		blobs = append(blobs, b)
		return b.SHA256
	}
	if len(ev.EventLog) > 0 {
		refs.EventLogSHA256 = add(ev.EventLog)
	}
	for _, data := range ev.Bundles {
		refs.BundlesSHA256 = append(refs.BundlesSHA256, add(data))
	}
	if len(ev.Quotes) > 0 {
		slim.Quotes = make([]wire.Quote, len(ev.Quotes))
		refs.QuotePCRsSHA256 = make([]string, len(ev.Quotes))
		for i, q := range ev.Quotes {
			slim.Quotes[i] = wire.Quote{Attest: q.Attest, Signature: q.Signature}
			if q.PCRs == nil {
				continue
			}
			refs.QuotePCRsSHA256[i] = add(encodeWith(func(b []byte) []byte { return appendPCRValues(b, q.PCRs) }))
		}
	}
	if len(akPublic) > 0 {
		refs.AKPublic = akPublic
	}
	body := encodeWith(func(b []byte) []byte { return appendEvidence(b, &slim) })
	if refs.empty() {
		return body, nil, nil
	}
	extra := encodeWith(func(b []byte) []byte { return appendBlobRefs(b, &refs) })
	joined, err := joinObjects(body, extra)
	if err != nil {
		return nil, nil, err
	}
	return joined, blobs, nil
}

// bundleBlobs returns the blobs of ev's bundle files, in their order,
// among blobs as splitEvidence returned them for ev: the event log's first,
// then the bundles'.
func bundleBlobs(ev *wire.Evidence, blobs []store.Blob) []store.Blob {
	first := 0
	if len(ev.EventLog) > 0 {
		first = 1
	}
	n := len(ev.Bundles)
	if n == 0 || len(blobs) < first+n {
		return nil
	}
	return blobs[first : first+n]
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

// StoredEvidence is evidence as the verifier recorded it.
type StoredEvidence struct {
	// Evidence is as the agent sent it.
	Evidence *wire.Evidence
	// AKPublic is the TPMT_PUBLIC the quotes were checked with; nil for
	// evidence recorded before the verifier kept it, or without a TPM 2.0.
	AKPublic []byte
	// At is when the verdict on it was recorded (zero from ExpandEvidence).
	At time.Time
}

// ExpandEvidence returns stored evidence JSON (a latest evidence's or a
// status change's) as the agent sent it, its repeating parts read back from
// the store. Evidence stored before blobs existed is decoded as it is.
func (v *Verifier) ExpandEvidence(ctx context.Context, stored []byte) (StoredEvidence, error) {
	return expandEvidence(stored, func(hashes []string) (map[string][]byte, error) {
		return v.st.GetBlobs(ctx, hashes)
	})
}

// expandEvidence is ExpandEvidence with the blobs read by getBlobs.
func expandEvidence(stored []byte, getBlobs func([]string) (map[string][]byte, error)) (StoredEvidence, error) {
	se, _, err := expandStored(stored, getBlobs, nil)
	return se, err
}

// pcrValues is a quote's PCR values as wire.Quote holds them.
type pcrValues = map[string]map[int][]byte

// expandStored is expandEvidence that also returns the hashes the stored
// evidence names. pcrs, when set, gives a quote's PCR values by hash in
// place of decoding their blob (a preview decodes each once for a fleet;
// the values it gives are shared, and must not be changed).
func expandStored(stored []byte, getBlobs func([]string) (map[string][]byte, error), pcrs func(string) (pcrValues, error)) (StoredEvidence, blobRefs, error) {
	var ev wire.Evidence
	if err := json.Unmarshal(stored, &ev); err != nil {
		return StoredEvidence{}, blobRefs{}, fmt.Errorf("decode stored evidence: %w", err)
	}
	var refs blobRefs
	if err := json.Unmarshal(stored, &refs); err != nil {
		return StoredEvidence{}, blobRefs{}, fmt.Errorf("decode stored evidence's blob hashes: %w", err)
	}
	if refs.empty() {
		return StoredEvidence{Evidence: &ev}, refs, nil
	}
	hashes := refs.hashes()
	if pcrs != nil {
		hashes = slices.DeleteFunc(hashes, func(h string) bool { return slices.Contains(refs.QuotePCRsSHA256, h) })
	}
	blobs, err := getBlobs(hashes)
	if err != nil {
		return StoredEvidence{}, blobRefs{}, fmt.Errorf("read evidence blobs: %w", err)
	}
	se, err := blobReader(blobs).expand(&ev, refs, pcrs)
	return se, refs, err
}

// expand puts back into ev the parts refs names.
func (r blobReader) expand(ev *wire.Evidence, refs blobRefs, pcrs func(string) (pcrValues, error)) (StoredEvidence, error) {
	var err error
	out := StoredEvidence{Evidence: ev}
	if refs.EventLogSHA256 != "" {
		if ev.EventLog, err = r.get(refs.EventLogSHA256); err != nil {
			return StoredEvidence{}, fmt.Errorf("event log: %w", err)
		}
		// The field the reference shares with wire.Evidence: the log is
		// back, as if the agent had sent it.
		ev.EventLogSHA256 = ""
	}
	if len(refs.BundlesSHA256) > 0 {
		ev.Bundles = make([][]byte, len(refs.BundlesSHA256))
		for i, h := range refs.BundlesSHA256 {
			if ev.Bundles[i], err = r.get(h); err != nil {
				return StoredEvidence{}, fmt.Errorf("bundle %d: %w", i, err)
			}
		}
		// As for the log: the files are back, as if the agent had sent them.
		ev.BundlesSHA256 = nil
	}
	if pcrs == nil {
		pcrs = r.decodePCRs
	}
	if err := quotePCRs(ev.Quotes, refs.QuotePCRsSHA256, pcrs); err != nil {
		return StoredEvidence{}, err
	}
	out.AKPublic = refs.AKPublic
	return out, nil
}

// blobReader gives the blobs a stored record names.
type blobReader map[string][]byte

func (r blobReader) get(h string) ([]byte, error) {
	data, ok := r[h]
	if !ok {
		return nil, fmt.Errorf("blob %.80s: %w", h, errBlobMissing)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// quotePCRs puts back each quote's PCR values, given by hash by pcrs.
func quotePCRs(quotes []wire.Quote, hashes []string, pcrs func(string) (pcrValues, error)) error {
	if len(hashes) == 0 {
		return nil
	}
	if len(hashes) != len(quotes) {
		return fmt.Errorf("stored evidence names PCR values for %d quotes, has %d quotes", len(hashes), len(quotes))
	}
	for i, h := range hashes {
		if h == "" {
			continue
		}
		v, err := pcrs(h)
		if err != nil {
			return fmt.Errorf("quote %d's PCR values: %w", i, err)
		}
		quotes[i].PCRs = v
	}
	return nil
}

// decodePCRs decodes the PCR values blob h.
func (r blobReader) decodePCRs(h string) (pcrValues, error) {
	data, err := r.get(h)
	if err != nil {
		return nil, err
	}
	var v pcrValues
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decode stored PCR values: %w", err)
	}
	return v, nil
}

// LatestEvidence returns the evidence of host's latest attestation as the
// agent sent it, and when it was recorded (store.ErrNotFound when the host
// has none).
func (v *Verifier) LatestEvidence(ctx context.Context, host string) (StoredEvidence, error) {
	// A prune may delete the blobs of evidence replaced after it was read;
	// the evidence read again names blobs the prune kept.
	for try := 0; ; try++ {
		le, err := v.st.LatestEvidence(ctx, host)
		if err != nil {
			return StoredEvidence{}, fmt.Errorf("latest evidence of %s: %w", host, err)
		}
		se, err := v.ExpandEvidence(ctx, le.Evidence)
		if errors.Is(err, errBlobMissing) && try == 0 {
			continue
		}
		if err != nil {
			return StoredEvidence{}, fmt.Errorf("latest evidence of %s: %w", host, err)
		}
		se.At = le.At
		return se, nil
	}
}
