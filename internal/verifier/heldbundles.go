package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// An agent whose bundles are the same files as at its last attestation
// sends their hashes instead of the files (wire.Evidence.BundlesSHA256), as
// it does for its event log (heldlog.go): three signed bundles are about
// 4.4 KB, 5.9 KB of base64 in JSON, and were half of the evidence JSON
// once the log went by hash. The verifier takes the files it holds under
// those hashes, remembered here or read from the store's blobs, where every
// recorded bundle file is kept by SHA-256 (evidence.go).
//
// Taking a bundle by its hash gives the host nothing it could not have by
// sending the file: bundle files are untrusted input, each believed only if
// its signature chains to a vendor root the group trusts, and its payloads
// count only where they match what the quoted PCRs prove was measured. A
// hash names one file, the one whose SHA-256 it is, so a host gets the
// very file it would have sent, and a tampered file the verifier holds
// (from a host that sent it) is named only by its own hash and fails as it
// did then. What a host learns from the answer is at most that the
// verifier holds a file whose SHA-256 the host already knows.

// heldBundleMemoEntries and heldBundleMemoMaxBytes bound the bundle files
// remembered (to 32 MiB): a fleet installs a few dozen distinct bundles,
// each a few KB; more, or larger ones, are read from the store.
// maxBundlesByHash bounds the hashes one evidence may name, since each
// file not remembered is a read of the store: far more bundles than a host
// installs (an ESXi host has about 150 VIBs). A host with more is not told
// hashes and sends its files.
const (
	heldBundleMemoEntries  = 512
	heldBundleMemoMaxBytes = 64 << 10
	maxBundlesByHash       = 1024
)

// resolveBundles fills in ev's bundle files when ev names them by hash, and
// checks the hashes against the files when ev carries both.
func (v *Verifier) resolveBundles(ctx context.Context, ev *wire.Evidence) error {
	want := ev.BundlesSHA256
	if len(want) == 0 {
		return nil
	}
	if len(ev.Bundles) > 0 {
		return checkBundleHashes(ev.Bundles, want)
	}
	if len(want) > maxBundlesByHash {
		return refuse(KindConflict, wire.CodeBundlesUnknown,
			"the verifier takes at most %d bundles by hash, not %d; send the bundle files", maxBundlesByHash, len(want))
	}
	files := make([][]byte, len(want))
	var missing []int // indexes of want the memo does not hold
	for i, h := range want {
		if !store.IsBlobHash(h) {
			return errBundleUnknown(h)
		}
		if data, ok := v.bundleFiles.Get(h); ok {
			files[i] = data
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) > 0 {
		hashes := make([]string, len(missing))
		for j, i := range missing {
			hashes[j] = want[i]
		}
		blobs, err := v.st.GetBlobs(ctx, hashes)
		if err != nil {
			return fmt.Errorf("read bundle files: %w", err)
		}
		for _, i := range missing {
			data, ok := blobs[want[i]]
			if !ok {
				return errBundleUnknown(want[i])
			}
			if data == nil {
				data = []byte{} // an empty file is a file, not a missing one
			}
			v.rememberBundle(want[i], data)
			files[i] = data
		}
	}
	ev.Bundles = files
	return nil
}

func errBundleUnknown(hash string) error {
	return refuse(KindConflict, wire.CodeBundlesUnknown,
		"the verifier holds no bundle file with SHA-256 %.80q; send the bundle files", hash)
}

// checkBundleHashes refuses hashes sent beside the files they should name
// but do not, as resolveEventLog refuses a log's.
func checkBundleHashes(files [][]byte, hashes []string) error {
	if len(files) != len(hashes) {
		return refuse(KindInvalid, "evidence.bundles_mismatch",
			"bundles_sha256 names %d bundle files, the evidence carries %d", len(hashes), len(files))
	}
	for i, f := range files {
		sum := sha256.Sum256(f)
		if hex.EncodeToString(sum[:]) != hashes[i] {
			return refuse(KindInvalid, "evidence.bundles_mismatch",
				"bundles_sha256[%d] %.80q is not the SHA-256 of bundle file %d sent", i, hashes[i], i)
		}
	}
	return nil
}

// heldBundles are the hashes the verdict's result tells the agent the
// verifier holds its bundle files under, in the order sent, remembering the
// files: blobs are the record's, as splitEvidence made them.
func (v *Verifier) heldBundles(ev *wire.Evidence, blobs []store.Blob) []string {
	held := bundleBlobs(ev, blobs)
	if len(held) == 0 || len(held) > maxBundlesByHash {
		return nil
	}
	out := make([]string, len(held))
	for i, b := range held {
		v.rememberBundle(b.SHA256, ev.Bundles[i])
		out[i] = b.SHA256
	}
	return out
}

// rememberBundle keeps a bundle file by its hash. A hash names one file, so
// one already remembered is left as it is, sparing the memo's lock.
func (v *Verifier) rememberBundle(hash string, data []byte) {
	if len(data) > heldBundleMemoMaxBytes {
		return
	}
	if _, ok := v.bundleFiles.Get(hash); !ok {
		v.bundleFiles.Put(hash, data)
	}
}
