package client

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostEvidence: the raw answer comes back as sent, the host name is
// escaped into the path, and a refusal keeps the verifier's code.
func TestHostEvidence(t *testing.T) {
	const body = `{"host":"a/b","evidence":{"nonce":"bg==","tpm_family":"2.0"}}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.EscapedPath() == "/api/v1/hosts/a%2Fb/evidence":
			_, _ = w.Write([]byte(body))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":"host.not_found","message":"no host"}`))
		}
	}))
	defer srv.Close()
	c, err := New(Settings{URL: srv.URL, Token: "tok", CAFile: serverCA(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.HostEvidence(t.Context(), "a/b")
	if err != nil || string(raw) != body {
		t.Errorf("HostEvidence(a/b) = %q, %v; want the body as sent", raw, err)
	}
	_, err = c.HostEvidence(t.Context(), "nope")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != "host.not_found" {
		t.Errorf("HostEvidence(nope) error = %v, want a 404 host.not_found APIError", err)
	}
}

// serverCA writes the test server's certificate as the CA file to trust.
func serverCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRefusesPlainHTTP: the bearer token never goes to an http:// URL,
// nor follows a redirect there; the test server sees no request.
func TestRefusesPlainHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("plain HTTP server got %s %s with Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	if _, err := New(Settings{URL: plain.URL, Token: "tok"}); err == nil || !strings.Contains(err.Error(), plain.URL) {
		t.Errorf("New(%s) = %v, want a refusal naming the URL", plain.URL, err)
	}
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirect.Close()
	c, err := New(Settings{URL: redirect.URL, Token: "tok", CAFile: serverCA(t, redirect)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(t.Context(), "GET", "/api/v1/hosts", nil, nil); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("a redirect to http = %v, want refused", err)
	}
}
