package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/httpsurl"
	"github.com/bootproof/bootproof/internal/wire"
)

// RefusedError is the verifier's deliberate "no" (a 4xx answer): retrying the
// same request will not help.
type RefusedError struct {
	Status  int
	Code    string
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("verifier refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// BusyError is the verifier shedding load (503 with Retry-After) or
// refusing this host more than its share (429 with Retry-After): the agent
// waits as long as it asks, rather than backing off on its own schedule.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("verifier busy; retry after %s", e.RetryAfter)
}

// client speaks the agent protocol over HTTPS with the verifier's CA pinned.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, caPEM []byte, cert *tls.Certificate, timeout time.Duration) (*client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("verifier CA: no PEM certificate")
	}
	// A session ticket lets a reconnect (after a network blip or a verifier
	// restart, or a wait the network cut) resume without certificate
	// signatures on either side; the verifier still checks the client
	// certificate carried in the resumed session on every request.
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		ForceAttemptHTTP2: true}
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: httpsurl.CheckRedirect}}, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bootproof-Protocol", fmt.Sprint(wire.ProtocolVersion))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	// 503: the verifier is at its limit; 429: this host asked for more
	// than its share (a nonce too soon, a request while two are in
	// flight). Either way it says when to come back.
	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && secs <= 600 {
			return &BusyError{RetryAfter: time.Duration(secs) * time.Second}
		}
	}
	if resp.StatusCode/100 != 2 {
		var we wire.Error
		if json.Unmarshal(data, &we) != nil || we.Code == "" {
			we = wire.Error{Code: "http_" + fmt.Sprint(resp.StatusCode), Message: strings.TrimSpace(string(data))}
		}
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return &RefusedError{Status: resp.StatusCode, Code: we.Code, Message: we.Message}
		}
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, we.Code, we.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
