package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// HTTPError is a non-2xx answer from the verifier.
type HTTPError struct {
	Status int
	Code   string
	Msg    string
	// RetryAfter is what a busy verifier (503) asked for, or 0.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("verifier answered %d %s: %s", e.Status, e.Code, e.Msg)
}

// retryable reports whether an agent would try again (server busy or away)
// rather than give up (a deliberate 4xx refusal).
func retryable(err error) bool {
	he, ok := err.(*HTTPError)
	if !ok {
		return true // transport error
	}
	return he.Status/100 == 5 || he.Status == http.StatusTooManyRequests || he.Status == http.StatusRequestTimeout
}

// newTransport is a transport pinned to the verifier's CA, presenting cert
// when not nil. Like the agent's, it speaks HTTP/2 when the server does.
func newTransport(pool *x509.CertPool, cert *tls.Certificate, maxIdle int) *http.Transport {
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 30 * time.Second}
}

// call sends one request of the agent protocol or the REST API (token set)
// and decodes the JSON answer into out.
func call(ctx context.Context, hc *http.Client, method, url, token string, in, out any) error {
	var body io.Reader
	ctype := "application/json"
	switch v := in.(type) {
	case nil:
	case jsonBody:
		body = bytes.NewReader(v)
	case []byte:
		body, ctype = bytes.NewReader(v), "application/yaml"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Bootproof-Protocol", fmt.Sprint(wire.ProtocolVersion))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, req.URL.Path, err)
	}
	return decodeAnswer(resp, data, method+" "+req.URL.Path, out)
}

// decodeAnswer turns the verifier's answer to what (method and path) into
// an *HTTPError when it is not 2xx, or decodes its JSON body into out.
func decodeAnswer(resp *http.Response, data []byte, what string, out any) error {
	if resp.StatusCode/100 != 2 {
		var we wire.Error
		if json.Unmarshal(data, &we) != nil || we.Code == "" {
			we = wire.Error{Code: fmt.Sprintf("http_%d", resp.StatusCode), Message: strings.TrimSpace(string(data))}
		}
		he := &HTTPError{Status: resp.StatusCode, Code: we.Code, Msg: we.Message}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && secs <= 600 {
			he.RetryAfter = time.Duration(secs) * time.Second
		}
		return he
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", what, err)
	}
	return nil
}
