package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/store"
)

// A verdict is stored by reference, like evidence's repeating parts: a
// host's verdicts differ from one attestation to the next only in the
// quote's clock while its boot stays the same, and hosts that boot alike
// earn the same verdict, so the verdict without its clock is a blob (about
// 16 KB as JSON for the emulated chain, most of it the quoted PCR values and
// the measured components) and the record holds its hash and the clock.
// Verdicts stored before hold the whole verdict and read back as they are.

// verdictRef is what a record stores in place of its verdict.
type verdictRef struct {
	VerdictSHA256 string               `json:"verdict_sha256"`
	Clock         *appraisal.ClockInfo `json:"clock,omitempty"`
}

// splitVerdict returns the JSON to store for vd and the blob it names.
func splitVerdict(vd *appraisal.Verdict) ([]byte, store.Blob) {
	unclocked := *vd
	unclocked.Clock = nil
	b := newBlob(encodeWith(func(dst []byte) []byte { return appendVerdict(dst, &unclocked) }))
	ref := encodeWith(func(dst []byte) []byte {
		return appendVerdictRef(dst, verdictRef{VerdictSHA256: b.SHA256, Clock: vd.Clock})
	})
	return ref, b
}

// expandVerdict decodes a stored verdict, reading its blob with getBlobs
// when it is stored by reference.
func expandVerdict(stored []byte, getBlobs func([]string) (map[string][]byte, error)) (*appraisal.Verdict, error) {
	var ref verdictRef
	if err := json.Unmarshal(stored, &ref); err != nil {
		return nil, fmt.Errorf("decode stored verdict: %w", err)
	}
	body := stored
	if ref.VerdictSHA256 != "" {
		blobs, err := getBlobs([]string{ref.VerdictSHA256})
		if err != nil {
			return nil, fmt.Errorf("read verdict blob: %w", err)
		}
		if body, err = blobReader(blobs).get(ref.VerdictSHA256); err != nil {
			return nil, fmt.Errorf("verdict: %w", err)
		}
	}
	var vd appraisal.Verdict
	if err := json.Unmarshal(body, &vd); err != nil {
		return nil, fmt.Errorf("decode stored verdict: %w", err)
	}
	if ref.VerdictSHA256 != "" {
		vd.Clock = ref.Clock
	}
	return &vd, nil
}

// LatestVerdict returns the host's latest verdict, decoded.
func (v *Verifier) LatestVerdict(ctx context.Context, name string) (*appraisal.Verdict, store.LatestEvidence, error) {
	// As in LatestEvidence: a prune may delete the blob of a verdict
	// replaced after it was read; read again, the record names a kept one.
	for try := 0; ; try++ {
		le, err := v.st.LatestEvidence(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, le, refuse(KindNotFound, "host.no_evidence", "host %q has not attested yet", name)
		}
		if err != nil {
			return nil, le, err
		}
		vd, err := expandVerdict(le.Verdict, func(hs []string) (map[string][]byte, error) { return v.st.GetBlobs(ctx, hs) })
		if errors.Is(err, errBlobMissing) && try == 0 {
			continue
		}
		if err != nil {
			return nil, le, fmt.Errorf("verdict of %s: %w", name, err)
		}
		return vd, le, nil
	}
}
