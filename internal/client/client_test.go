package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHostEvidence: the raw answer comes back as sent, the host name is
// escaped into the path, and a refusal keeps the verifier's code.
func TestHostEvidence(t *testing.T) {
	const body = `{"host":"a/b","evidence":{"nonce":"bg==","tpm_family":"2.0"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	c, err := New(Settings{URL: srv.URL, Token: "tok"})
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
