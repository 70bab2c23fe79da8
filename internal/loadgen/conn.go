package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// Why --park speaks HTTP/1.1 itself.
//
// A host in --park mode keeps its connection between turns with a wait
// parked on it, as the agent does. Through net/http's Transport every such
// connection would keep two goroutines (its read and write loops) and two
// 4 KiB buffers, and the wait a third goroutine blocked in Do, for the
// whole interval: with 19,000 parked hosts per generator, most of the
// generator's memory. The host needs none of that while it waits: the
// verifier answers at the host's turn, and the answer can lie in the
// socket until the host reads it then. So a held connection is only its
// *tls.Conn; its requests are written and its answers read (with
// http.ReadResponse) by the host's own turn, with a pooled reader.

// heldConn is a host's own connection to the verifier (--park).
type heldConn struct {
	tc *tls.Conn
	// waiting: a wait was sent on it and its answer is not read yet.
	waiting bool
	// parkedIn is the counting phase (runner.phase) in which the wait was
	// counted as parked, so that a refusal found late undoes that count.
	parkedIn int64
	// slot: it holds one of the runner's held-connection slots (fdPlan).
	slot bool
}

// readers are the bufio.Readers that answers are read with; a held
// connection keeps none between turns.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// errStale is a held connection found closed before it carried a request's
// answer: the verifier (or the network) closed it while the host waited.
var errStale = errors.New("held connection closed by the verifier")

// errNoAnswer is an answer that did not begin in the time given.
var errNoAnswer = errors.New("no answer yet")

// dial opens h's mTLS connection, resuming its TLS session when it has one.
func (r *runner) dial(ctx context.Context, h *host) (*heldConn, error) {
	tc := &tls.Config{RootCAs: r.pool, Certificates: []tls.Certificate{h.cert}, ClientSessionCache: h.sessions,
		ServerName: r.serverName, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: r.cfg.Timeout, KeepAlive: 30 * time.Second}, Config: tc}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", r.addr, err)
	}
	conn := c.(*tls.Conn)
	r.tally.handshake(conn.ConnectionState())
	return &heldConn{tc: conn}, nil
}

// requestBytes is an HTTP/1.1 request as net/http's Transport writes it
// for call, in one write.
func requestBytes(method, host, path string, body jsonBody) []byte {
	b := make([]byte, 0, 160+len(path)+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: bootproof-loadgen\r\nX-Bootproof-Protocol: "...)
	b = strconv.AppendInt(b, wire.ProtocolVersion, 10)
	b = append(b, "\r\n"...)
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// send writes one request on c.
func (r *runner) send(c *heldConn, method, path string, body jsonBody) error {
	_ = c.tc.SetWriteDeadline(time.Now().Add(r.cfg.Timeout))
	_, err := c.tc.Write(requestBytes(method, r.host, path, body))
	if err != nil {
		return fmt.Errorf("%s %s: %w: %w", method, path, errStale, err)
	}
	return nil
}

// receive reads one answer on c into out (readAnswer). Its first byte
// must come by first, the rest within the request timeout after it. No
// first byte by then is errNoAnswer (nothing was consumed: the answer may
// still come); a connection that ended first is errStale.
func (r *runner) receive(c *heldConn, what string, first time.Time, out any) (closing bool, err error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(c.tc)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	_ = c.tc.SetReadDeadline(first)
	if _, err := br.Peek(1); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// crypto/tls keeps a record it had begun to read, and a
			// timeout does not break the connection.
			return false, fmt.Errorf("%s: %w", what, errNoAnswer)
		}
		return true, fmt.Errorf("%s: %w: %w", what, errStale, err)
	}
	_ = c.tc.SetReadDeadline(time.Now().Add(r.cfg.Timeout))
	return readAnswer(br, what, out)
}

// readAnswer reads one HTTP/1.1 answer from br into out (decodeAnswer).
// closing is true when the connection must not carry another request: the
// verifier said Connection: close, or the answer could not be read whole.
func readAnswer(br *bufio.Reader, what string, out any) (closing bool, err error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return true, fmt.Errorf("%s: read answer: %w", what, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return true, fmt.Errorf("%s: read answer: %w", what, err)
	}
	// The verifier answers one request at a time: bytes after the answer
	// would belong to none, and the reader that holds them goes back to
	// the pool.
	closing = resp.Close || br.Buffered() > 0
	return closing, decodeAnswer(resp, data, what, out)
}

// exchange sends one request on c and reads its answer into out. An
// answer that did not come in time closes c: it might come later, and be
// read as the next request's.
func (r *runner) exchange(c *heldConn, method, path string, body jsonBody, out any) (closing bool, err error) {
	if err := r.send(c, method, path, body); err != nil {
		return true, err
	}
	closing, err = r.receive(c, method+" "+path, time.Now().Add(r.cfg.Timeout), out)
	return closing || errors.Is(err, errNoAnswer), err
}

func (c *heldConn) close() { _ = c.tc.Close() }
