package server

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
)

// TestSlowBodyIsCutBeforeASlot sends an evidence body a byte at a time
// slower than the pace allows, to a real server, while the one shared slot
// is free: the request is answered 408 body.too_slow after the grace,
// without having taken the slot (the handler never ran), and a body at
// speed is handed to the handler whole, its request not cancelled by the
// deadline its body was read under.
func TestSlowBodyIsCutBeforeASlot(t *testing.T) {
	ran := make(chan string, 4)
	pace := bodyPace{Grace: 300 * time.Millisecond, MinRate: 1 << 20, Max: 2 * time.Second, Limit: 1 << 20}
	h := admission(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// Past the body's deadline: net/http's watch of the connection
		// must not have been cut by it (it would cancel the request).
		time.Sleep(pace.Grace + 200*time.Millisecond)
		if r.Context().Err() != nil {
			b = []byte("request cancelled: " + r.Context().Err().Error())
		}
		ran <- string(b)
		w.WriteHeader(http.StatusOK)
	}), admissionConfig{Limit: 1, Wait: time.Second, PerHost: 2, Body: pace})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, asHost(r, "mallory"))
	}))
	srv.StartTLS()
	defer srv.Close()

	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /agent/v1/evidence HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	began := time.Now()
	go func() {
		for range 20 {
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	var e api.Error
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusRequestTimeout || e.Code != "body.too_slow" {
		t.Errorf("slow body: %d %s, want 408 body.too_slow", resp.StatusCode, e.Code)
	}
	if took := time.Since(began); took > pace.Grace+time.Second {
		t.Errorf("slow body answered after %s, want about its grace %s", took, pace.Grace)
	}
	select {
	case b := <-ran:
		t.Errorf("the handler ran for a body that never came whole (%q)", b)
	default:
	}

	body := `{"nonce":"` + strings.Repeat("a", 5000) + `"}`
	c := srv.Client()
	r, err := c.Post(srv.URL+"/agent/v1/evidence", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || <-ran != body {
		t.Errorf("a body at speed: %d, or not handed on whole", r.StatusCode)
	}
}
