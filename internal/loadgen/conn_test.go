package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/wire"
)

// TestRequestBytes: the requests --park writes itself are what net/http
// reads on the verifier's side, headers and body.
func TestRequestBytes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		body         jsonBody
	}{
		{"GET", "/agent/v1/nonce", nil},
		{"GET", "/agent/v1/wait?timeout=299950", nil},
		{"POST", "/agent/v1/evidence", jsonBody(`{"nonce":"bm9uY2U="}`)},
	} {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(requestBytes(tc.method, "verifier:8443", tc.path, tc.body))))
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(req.Body)
		if req.Method != tc.method || req.RequestURI != tc.path || req.Host != "verifier:8443" || req.Close ||
			req.Header.Get("X-Bootproof-Protocol") != fmt.Sprint(wire.ProtocolVersion) || string(body) != string(tc.body) {
			t.Errorf("%s %s read as %s %s host %q close %v protocol %q body %q", tc.method, tc.path, req.Method,
				req.RequestURI, req.Host, req.Close, req.Header.Get("X-Bootproof-Protocol"), body)
		}
		if tc.body != nil && req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, req.Header.Get("Content-Type"))
		}
	}
}

// TestReadAnswer: a wait's answers as the verifier writes them (parked and
// answered, or refused over its bound) and what the host makes of them.
func TestReadAnswer(t *testing.T) {
	const body = `{"attest":false}` + "\n"
	for _, tc := range []struct {
		name    string
		answer  string
		closing bool
		want    wire.WaitResponse
		status  int // of the *HTTPError, 0 for none
	}{
		{"parked, answered at the timeout", "HTTP/1.1 200 OK\r\nContent-Length: 17\r\nContent-Type: application/json\r\n\r\n" + body,
			false, wire.WaitResponse{}, 0},
		{"attest now", "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"attest\":true}\n", false, wire.WaitResponse{Attest: true}, 0},
		{"refused over the bound", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 43\r\n\r\n" +
			`{"attest":false,"retry_after_seconds":300}` + "\n", true, wire.WaitResponse{RetryAfterSeconds: 300}, 0},
		{"asked again too soon", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nConnection: close\r\nContent-Length: 46\r\n\r\n" +
			`{"code":"wait.over_bound","message":"not now"}`, true, wire.WaitResponse{}, 503},
		{"bytes after the answer", "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n" + body + "HTTP/1.1", true, wire.WaitResponse{}, 0},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n" + body, true, wire.WaitResponse{}, -1},
	} {
		var w wire.WaitResponse
		closing, err := readAnswer(bufio.NewReader(strings.NewReader(tc.answer)), "GET /agent/v1/wait", &w)
		var he *HTTPError
		switch {
		case tc.status > 0 && (!errors.As(err, &he) || he.Status != tc.status):
			t.Errorf("%s: error %v, want status %d", tc.name, err, tc.status)
		case tc.status < 0 && err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.status == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		}
		if closing != tc.closing || w != tc.want {
			t.Errorf("%s: closing %v, answer %+v; want %v, %+v", tc.name, closing, w, tc.closing, tc.want)
		}
	}
}

// FuzzReadAnswer: whatever comes back on a held connection, reading it
// never panics, an answer that is not 2xx is never taken for one, and a
// connection whose answer could not be read is never used again.
func FuzzReadAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"attest\":false}\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 43\r\n\r\n{\"attest\":false,\"retry_after_seconds\":300}\n"))
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"att\r\n0\r\n\r\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		var w wire.WaitResponse
		closing, err := readAnswer(bufio.NewReader(bytes.NewReader(answer)), "fuzz", &w)
		var he *HTTPError
		if errors.As(err, &he) && he.Status/100 == 2 {
			t.Errorf("a %d answer taken for an error", he.Status)
		}
		if err != nil && he == nil && !closing && !strings.Contains(err.Error(), "decode answer") {
			t.Errorf("%v: the connection is kept after an answer that could not be read", err)
		}
	})
}
