package httpsurl

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCheck: only https:// URLs with a host pass; a refusal names the
// setting and the URL and wraps ErrNotHTTPS.
func TestCheck(t *testing.T) {
	for _, ok := range []string{"https://verifier:8443", "https://10.0.0.1", "https://v.example/"} {
		if _, err := Check("verifier URL", ok); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"http://verifier:8443", "HTTP://v", "ftp://v", "verifier:8443", "//v", "ws://v"} {
		_, err := Check("verifier URL", bad)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotHTTPS) || !strings.Contains(err.Error(), `verifier URL "`+bad+`" is not https`) {
			t.Errorf("Check(%q) = %v, want a not-https refusal naming it", bad, err)
		}
	}
	if _, err := Check("verifier URL", "https://"); err == nil || !strings.Contains(err.Error(), "no host") {
		t.Errorf("Check(https://) = %v, want no host", err)
	}
}

// TestCheckRedirect: a redirect may go to another https URL, never to http.
func TestCheckRedirect(t *testing.T) {
	to := func(s string) *http.Request { u, _ := url.Parse(s); return &http.Request{URL: u} }
	if err := CheckRedirect(to("https://v2:8443/x"), nil); err != nil {
		t.Errorf("redirect to https = %v, want followed", err)
	}
	if err := CheckRedirect(to("http://v2/x"), nil); !errors.Is(err, ErrNotHTTPS) {
		t.Errorf("redirect to http = %v, want refused", err)
	}
	if err := CheckRedirect(to("https://v2/x"), make([]*http.Request, 10)); err == nil {
		t.Error("11th redirect followed, want stopped")
	}
}
