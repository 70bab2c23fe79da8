package appraisal

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"time"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/memo"
)

// DefaultBundleMemoEntries bounds a verifier's BundleMemo: far more distinct
// signed bundles than a fleet installs (thousands of hosts carry the same
// few dozen), small enough to be no memory concern.
const DefaultBundleMemoEntries = 4096

// BundleMemo remembers bundle files that verified, so that a fleet whose
// hosts carry the same bundles does not parse each file and verify its
// signature chain on every attestation. The verifier owns one and passes it
// in Input; the appraisal stays a function of its Input, since the memo
// never changes a verdict:
//
//   - an entry is keyed by the SHA-256 of the file's bytes and of the
//     trusted roots' DER, which are all Verify depends on besides the time;
//   - only successes are kept, with the span in which the chain that
//     verified is valid (bundle.Validity): outside it the file is parsed and
//     verified again, so an expired certificate fails as it would without
//     the memo, with the same message;
//   - a file that is not a bundle or does not verify is not kept, so what a
//     host sends can add entries only with a trusted vendor's signature.
//
// It is safe for concurrent use. Lookups take no lock; when it holds its
// bound of entries it is cleared rather than grown.
type BundleMemo struct {
	entries *memo.Bounded[bundleKey, *bundleEntry]
}

// NewBundleMemo returns an empty memo of at most size entries (at least 1).
func NewBundleMemo(size int) *BundleMemo {
	return &BundleMemo{entries: memo.New[bundleKey, *bundleEntry](size)}
}

type bundleKey struct {
	file, roots [sha256.Size]byte
}

// bundleEntry is a verified bundle: its descriptor, shared by every
// appraisal that finds it and so never modified, and the span in which its
// signature verifies.
type bundleEntry struct {
	desc  *bundle.Descriptor
	valid bundle.Validity
}

// openedBundle is one file of a host's inventory: its descriptor, or why it
// is not a bundle (parseErr), and why its signature does not hold (sigErr).
type openedBundle struct {
	desc     *bundle.Descriptor
	parseErr error
	sigErr   error
}

// open parses every file and verifies its signature at now with roots,
// taking what it can from the memo; a nil memo does the work every time.
// The results are what bundle.Parse and (*bundle.Bundle).Verify return.
func (m *BundleMemo) open(files [][]byte, roots []*x509.Certificate, now time.Time) []openedBundle {
	out := make([]openedBundle, len(files))
	var rk [sha256.Size]byte
	if m != nil && len(files) > 0 {
		rk = rootsKey(roots)
	}
	for i, f := range files {
		if m == nil {
			out[i] = openBundle(f, roots, now, nil)
			continue
		}
		k := bundleKey{file: sha256.Sum256(f), roots: rk}
		if e, ok := m.entries.Get(k); ok {
			if e.valid.Contains(now) {
				out[i] = openedBundle{desc: e.desc}
				continue
			}
		}
		out[i] = openBundle(f, roots, now, func(e *bundleEntry) { m.entries.Put(k, e) })
	}
	return out
}

// openBundle parses and verifies one file, and hands a success to keep.
func openBundle(f []byte, roots []*x509.Certificate, now time.Time, keep func(*bundleEntry)) openedBundle {
	b, err := bundle.Parse(f)
	if err != nil {
		return openedBundle{parseErr: err}
	}
	valid, err := b.VerifyValidity(roots, now)
	d := &b.Descriptor
	if err == nil && keep != nil {
		// A copy, so the entry does not hold the file's certificates and
		// signed bytes alive.
		c := b.Descriptor
		d = &c
		keep(&bundleEntry{desc: d, valid: valid})
	}
	return openedBundle{desc: d, sigErr: err}
}

// rootsKey fingerprints a list of trusted roots: the SHA-256 of each
// certificate's DER, length-prefixed so no two lists share a fingerprint.
func rootsKey(roots []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, r := range roots {
		binary.BigEndian.PutUint64(n[:], uint64(len(r.Raw)))
		h.Write(n[:])
		h.Write(r.Raw)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
