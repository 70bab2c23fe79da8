package loadgen

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/bootproof/bootproof/internal/wire"
)

// The generator writes each attestation's evidence JSON itself, from parts
// of its image encoded once: all that changes from one attestation to the
// next is the nonce and the quote's TPMS_ATTEST and signature, while the
// quote's PCR values (4 banks of 24), the event log, the bundle files and
// their hashes are the image's. Encoding a wire.Evidence with
// encoding/json instead sorted and base64-encoded the PCR map on every
// attestation (about 200 allocations), and was the generator's largest
// cost after the quote's signature. The bytes are exactly those
// json.Marshal writes for the same wire.Evidence (TestEvidenceJSON), so
// the verifier decodes what it did before.

// evidenceParts are an image's repeating evidence parts as JSON, each as
// json.Marshal writes it inside a wire.Evidence.
type evidenceParts struct {
	pcrs []byte // the quote's "pcrs" value
	// Members of the evidence object, "name":value, empty when the image
	// has no log or no bundles (omitempty).
	eventLog, eventLogSHA256 []byte
	bundles, bundlesSHA256   []byte
}

func newEvidenceParts(im *Image) (evidenceParts, error) {
	var p evidenceParts
	var err error
	if p.pcrs, err = json.Marshal(im.quoted.pcrs); err != nil {
		return p, fmt.Errorf("encode PCR values of %s: %w", im.Profile, err)
	}
	member := func(name string, v any) ([]byte, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s of %s: %w", name, im.Profile, err)
		}
		return append([]byte(`"`+name+`":`), b...), nil
	}
	if len(im.EventLog) > 0 {
		if p.eventLog, err = member("event_log", im.EventLog); err != nil {
			return p, err
		}
		if p.eventLogSHA256, err = member("event_log_sha256", im.eventLogSHA256); err != nil {
			return p, err
		}
	}
	if len(im.Bundles) > 0 {
		if p.bundles, err = member("bundles", im.Bundles); err != nil {
			return p, err
		}
		if p.bundlesSHA256, err = member("bundles_sha256", im.bundlesSHA256); err != nil {
			return p, err
		}
	}
	return p, nil
}

// bundleHashes are the hex SHA-256s of files, in order.
func bundleHashes(files [][]byte) []string {
	out := make([]string, len(files))
	for i, f := range files {
		sum := sha256.Sum256(f)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

// jsonBody is a request body already encoded as JSON.
type jsonBody []byte

// evidenceJSON is the JSON of the wire.Evidence a host booted as im sends
// with quote q (one quote over every bank, as SimulatedTPM.Quote makes it):
// the event log and the bundle files, or their hashes where logByHash and
// bundlesByHash say so.
func (im *Image) evidenceJSON(nonce []byte, q wire.Quote, logByHash, bundlesByHash bool) jsonBody {
	p := &im.parts
	log, bundles := p.eventLog, p.bundles
	if logByHash {
		log = p.eventLogSHA256
	}
	if bundlesByHash {
		bundles = p.bundlesSHA256
	}
	b64 := base64.StdEncoding
	out := make([]byte, 0, 96+b64.EncodedLen(len(nonce))+b64.EncodedLen(len(q.Attest))+
		b64.EncodedLen(len(q.Signature))+len(p.pcrs)+len(log)+len(bundles))
	out = append(out, `{"nonce":`...)
	out = appendBytes(out, nonce)
	out = append(out, `,"tpm_family":"`+wire.FamilyTPM20+`","quotes":[{"attest":`...)
	out = appendBytes(out, q.Attest)
	out = append(out, `,"signature":`...)
	out = appendBytes(out, q.Signature)
	out = append(out, `,"pcrs":`...)
	out = append(out, p.pcrs...)
	out = append(out, "}]"...)
	for _, m := range [][]byte{log, bundles} {
		if len(m) > 0 {
			out = append(out, ',')
			out = append(out, m...)
		}
	}
	return append(out, '}')
}

// appendBytes appends b as encoding/json writes a []byte: base64 in
// quotes, or null for nil.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
