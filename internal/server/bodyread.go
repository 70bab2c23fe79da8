package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// bodyPace is how fast an evidence body must come: within Grace, plus one
// second per MinRate bytes, and never longer than Max. The body is read
// whole before its request may take a shared slot, so a slow sender holds
// only its own host's share (perHostInFlight), for at most Max.
type bodyPace struct {
	Grace   time.Duration
	MinRate int64 // bytes per second
	Max     time.Duration
	Limit   int64 // largest body handed on whole; a larger one is cut there
}

// defaultBodyPace: an agent sends its evidence in one write as soon as its
// TPM has quoted, 7 KB steady and 50-150 KB with its event log (the largest
// real firmware log is under 1 MB). 5 s of grace and 64 KiB/s after it let
// a 150 KB body through on a 256 kbit/s link and a 1 MB one on a 2 Mbit/s
// link; the slow-body attack of issue #19 (a byte every 5 s) is cut after
// 5 s instead of the server's 60 s ReadTimeout.
var defaultBodyPace = bodyPace{Grace: 5 * time.Second, MinRate: 64 << 10, Max: 30 * time.Second,
	Limit: wire.MaxBodyBytes}

func (p bodyPace) String() string {
	return fmt.Sprintf("within %s, then at least %d KiB/s, at most %s", p.Grace, p.MinRate>>10, p.Max)
}

// errBodyTooSlow is a body that did not keep to its bodyPace.
var errBodyTooSlow = errors.New("request body too slow")

// pacedBody is a request body read whole into a pooled buffer; the
// handler reads it from memory. release returns the buffer.
type pacedBody struct {
	*bytes.Reader
	buf *bytes.Buffer
}

func (b *pacedBody) Close() error { return nil }

func (b *pacedBody) release() {
	if b.buf.Cap() <= maxPooledBody {
		pacedBuffers.Put(b.buf)
	}
	b.buf = nil
}

var pacedBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse (a body with a real
// event log fits).
const maxPooledBody = 512 << 10

// readPaced reads r's body whole under pace, Limit+1 bytes at most (what
// is over Limit is the handler's to refuse, as body_too_large). A request
// without a body is left alone: net/http already watches its connection,
// and a read deadline set now would cut that watch.
func readPaced(w http.ResponseWriter, r *http.Request, pace bodyPace) (io.ReadCloser, func(), error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return r.Body, func() {}, nil
	}
	buf := pacedBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if n := r.ContentLength; n > 0 {
		// The client's word: no more ahead of its bytes than a body with
		// a real event log needs.
		buf.Grow(int(min(n, maxPooledBody)) + bytes.MinRead)
	}
	pr := &pacedReader{r: io.LimitReader(r.Body, pace.Limit+1), rc: http.NewResponseController(w),
		start: time.Now(), pace: pace}
	if _, err := buf.ReadFrom(pr); err != nil {
		pacedBuffers.Put(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, errBodyTooSlow
		}
		return nil, nil, err
	}
	b := &pacedBody{Reader: bytes.NewReader(buf.Bytes()), buf: buf}
	return b, b.release, nil
}

// pacedReader moves the connection's read deadline before every read to
// where the body's pace puts it, given what has come so far. It sets none
// after the read that ends the body: net/http then clears the deadline to
// watch the connection while the handler runs.
type pacedReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	n     int64
	pace  bodyPace
}

func (p *pacedReader) Read(b []byte) (int, error) {
	due := p.pace.Grace + time.Duration(float64(p.n)/float64(p.pace.MinRate)*float64(time.Second))
	// Without a deadline (a ResponseWriter that cannot set one, as in
	// tests) the server's ReadTimeout bounds the body as before.
	_ = p.rc.SetReadDeadline(p.start.Add(min(due, p.pace.Max)))
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}
