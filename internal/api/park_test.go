package api

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// TestWaitAnswerIsWhatTheHandlerWrites: a parked wait's hand-written answer
// says what writeJSON says through net/http.
func TestWaitAnswerIsWhatTheHandlerWrites(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		attest, closing bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		rec := httptest.NewRecorder()
		writeJSON(rec, http.StatusOK, wire.WaitResponse{Attest: tc.attest})
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(waitAnswer(tc.attest, now, tc.closing))), nil)
		if err != nil {
			t.Fatalf("attest=%v closing=%v: %v", tc.attest, tc.closing, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != rec.Code || !bytes.Equal(body, rec.Body.Bytes()) || resp.Close != tc.closing ||
			resp.ContentLength != int64(rec.Body.Len()) || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
			t.Errorf("attest=%v closing=%v: %d %q (close %v, length %d), want %d %q", tc.attest, tc.closing,
				resp.StatusCode, body, resp.Close, resp.ContentLength, rec.Code, rec.Body.Bytes())
		}
		for _, h := range []string{"Content-Type", "Cache-Control"} {
			if resp.Header.Get(h) != rec.Header().Get(h) {
				t.Errorf("%s: %q, want %q", h, resp.Header.Get(h), rec.Header().Get(h))
			}
		}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(now) {
			t.Errorf("Date %q, want %s", resp.Header.Get("Date"), now)
		}
	}
}
