package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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

// TestRefuseOverTheBound: a wait over the bound of parked waits is answered
// at once with attest false and retry_after_seconds (its timeout), on a
// connection closed after; asked again well within that time it is told
// 503 with the seconds left in Retry-After; every such answer is counted.
// Lapsed hosts are forgotten.
func TestRefuseOverTheBound(t *testing.T) {
	refusals := 0
	p := &Parker{refused: map[string]time.Time{}, pruneAt: minRefusedPrune, onRefused: func() { refusals++ }}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	answer := func(host string, timeout time.Duration, at time.Time) (*httptest.ResponseRecorder, wire.WaitResponse) {
		t.Helper()
		rec := httptest.NewRecorder()
		p.refuse(rec, host, timeout, at)
		var w wire.WaitResponse
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
				t.Fatalf("%s: %q: %v", host, rec.Body.Bytes(), err)
			}
		}
		if rec.Header().Get("Connection") != "close" {
			t.Errorf("%s: the connection is kept alive", host)
		}
		return rec, w
	}
	for _, tc := range []struct {
		host       string
		timeout    time.Duration
		at         time.Duration // after t0
		code       int
		hint       int    // retry_after_seconds, when 200
		retryAfter string // when 503
	}{
		{host: "a", timeout: 60 * time.Second, code: 200, hint: 60},
		{host: "a", timeout: 60 * time.Second, at: time.Second, code: 503, retryAfter: "53"},
		{host: "a", timeout: 60 * time.Second, at: 53500 * time.Millisecond, code: 503, retryAfter: "1"},
		{host: "b", timeout: 1500 * time.Millisecond, at: time.Second, code: 200, hint: 2},
		// One that honoured the hint asks again after it (less a round trip).
		{host: "a", timeout: 600 * time.Second, at: 59 * time.Second, code: 200, hint: 600},
	} {
		rec, w := answer(tc.host, tc.timeout, t0.Add(tc.at))
		if rec.Code != tc.code || (tc.code == 200 && (w.Attest || w.RetryAfterSeconds != tc.hint)) ||
			rec.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%s at +%s: %d %q Retry-After %q, want %d, hint %d, Retry-After %q", tc.host, tc.at, rec.Code,
				rec.Body.Bytes(), rec.Header().Get("Retry-After"), tc.code, tc.hint, tc.retryAfter)
		}
	}
	if refusals != 5 {
		t.Errorf("%d refusals counted, want 5", refusals)
	}
	// Lapsed entries go once the map reaches its pruning size.
	p = &Parker{refused: map[string]time.Time{}, pruneAt: minRefusedPrune}
	for i := range minRefusedPrune {
		p.refusedUntil(fmt.Sprintf("h%d", i), t0, t0.Add(time.Second))
	}
	p.refusedUntil("late", t0.Add(time.Hour), t0.Add(2*time.Hour))
	if len(p.refused) != 1 {
		t.Errorf("%d hosts remembered, want 1", len(p.refused))
	}
}
