package api

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	"github.com/bootproof/bootproof/internal/wire"
)

// decodeEvidence reads an agent's evidence body as decode does, with the
// same answers for every body, but decodes the plain form agents write
// with wire.ParseEvidence rather than reflection: at a fleet's rate the
// body's 96 PCR values made encoding/json's decoding a tenth of the
// verifier's CPU. Anything ParseEvidence leaves, and a body it could not
// read whole, goes to decode as it would have.
func decodeEvidence(w http.ResponseWriter, r *http.Request, ev *wire.Evidence) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	if n := r.ContentLength; n > 0 {
		// One allocation for a body larger than the pooled buffer rather
		// than growing read after read (ReadFrom wants MinRead bytes
		// spare); but the length is the client's word, so no more ahead
		// of the bytes than a body with its event log needs.
		buf.Grow(int(min(n, maxBodyHint)) + bytes.MinRead)
	}
	body := http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes)
	if _, err := buf.ReadFrom(body); err != nil {
		// Too large, or the client went away: decode meets the same error
		// at the same place, after the bytes read so far.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf.Bytes()), body), body}
		return decode(w, r, wire.MaxBodyBytes, ev)
	}
	if parsed, ok := wire.ParseEvidence(buf.Bytes()); ok {
		*ev = parsed
		return nil
	}
	r.Body = readCloser{bytes.NewReader(buf.Bytes()), body}
	return decode(w, r, wire.MaxBodyBytes, ev)
}

// bodyBuffers hold evidence bodies while they are parsed: nothing parsed
// keeps a reference into the buffer (ParseEvidence copies what it
// returns, as encoding/json does).
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxBodyHint is the most allocated for a body before its bytes arrive: a
// body with its event log is 50-150 KB.
const maxBodyHint = 256 << 10

// maxPooledBody is the largest buffer kept for reuse; the rare larger one
// is left to the collector rather than held by the pool.
const maxPooledBody = 2 * maxBodyHint

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		bodyBuffers.Put(b)
	}
}

// readCloser is a request body read again from a buffer, closed as the
// original.
type readCloser struct {
	io.Reader
	io.Closer
}
