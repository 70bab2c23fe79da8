package httpsurl

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ErrNotHTTPS is what every refusal wraps, for callers that decide on it.
var ErrNotHTTPS = errors.New("not https")

// Code is the stable code of the refusal.
const Code = "url.not_https"

// Error says which URL was refused and what it was for.
type Error struct {
	// What names the setting, e.g. "verifier URL" or "webhook URL".
	What string
	URL  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %q is not https (%s): bootproof sends tokens and evidence only over TLS; use an https:// URL",
		e.What, e.URL, Code)
}

// Unwrap makes errors.Is(err, ErrNotHTTPS) hold.
func (e *Error) Unwrap() error { return ErrNotHTTPS }

// Check parses raw and returns it if it is an https:// URL with a host;
// otherwise an *Error naming what and raw. It makes no request.
func Check(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a URL: %w", what, raw, err)
	}
	if u.Scheme != "https" {
		return nil, &Error{What: what, URL: raw}
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %q has no host: want https://host[:port]", what, raw)
	}
	return u, nil
}

// CheckRedirect is an http.Client's CheckRedirect that follows a redirect
// only to another https:// URL (at most 10 in a row, as net/http does):
// a verifier, or anyone answering for it, cannot bounce a request with
// its bearer token onto plain HTTP.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "https" {
		return &Error{What: "redirect target", URL: req.URL.Redacted()}
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}
