package client

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
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/httpsurl"
)

// Settings say where the verifier is and how to talk to it.
type Settings struct {
	URL   string
	Token string
	// CAFile is the verifier's CA certificate (PEM).
	CAFile  string
	Timeout time.Duration
}

// FromEnv fills unset fields from BOOTPROOF_URL, BOOTPROOF_TOKEN, BOOTPROOF_CA.
func (s Settings) FromEnv() Settings {
	if s.URL == "" {
		s.URL = os.Getenv("BOOTPROOF_URL")
	}
	if s.Token == "" {
		s.Token = os.Getenv("BOOTPROOF_TOKEN")
	}
	if s.CAFile == "" {
		s.CAFile = os.Getenv("BOOTPROOF_CA")
	}
	return s
}

// APIError is an error the verifier returned.
type APIError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("verifier answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Client calls the API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New checks the settings and returns a client.
func New(s Settings) (*Client, error) {
	if s.URL == "" {
		return nil, errors.New("no verifier URL: set BOOTPROOF_URL or --url")
	}
	// The bearer token goes in every request: refuse plain HTTP before
	// anything is sent (httpsurl.ErrNotHTTPS).
	if _, err := httpsurl.Check("verifier URL", s.URL); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		b, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read verifier CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("verifier CA %s holds no PEM certificate", s.CAFile)
		}
		tc.RootCAs = pool
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	return &Client{base: strings.TrimRight(s.URL, "/"), token: s.Token,
		http: &http.Client{Timeout: s.Timeout, Transport: &http.Transport{TLSClientConfig: tc},
			CheckRedirect: httpsurl.CheckRedirect}}, nil
}

// Do sends a request; in is JSON-encoded unless it is []byte; out, if not
// nil, receives the JSON answer, or the raw body when it is *[]byte.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.DoHeader(ctx, method, path, in, out)
	return err
}

// DoHeader is Do that also returns the answer's headers (nil on error),
// for the answers that say something there (the policy version a put
// stored).
func (c *Client) DoHeader(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	ctype := "application/json"
	switch v := in.(type) {
	case nil:
	case []byte:
		body, ctype = bytes.NewReader(v), "application/yaml"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Code == "" {
			ae.Code, ae.Message = "http_error", strings.TrimSpace(string(data))
		}
		return nil, ae
	}
	switch o := out.(type) {
	case nil:
		return resp.Header, nil
	case *[]byte:
		*o = data
		return resp.Header, nil
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// HostEvidence returns the answer of GET /api/v1/hosts/{name}/evidence as
// the verifier sent it: the evidence behind host's latest verdict and its
// enrolled AK. The raw body is what an auditor keeps; api.HostEvidence
// decodes it.
func (c *Client) HostEvidence(ctx context.Context, host string) ([]byte, error) {
	var raw []byte
	if err := c.Do(ctx, "GET", "/api/v1/hosts/"+url.PathEscape(host)+"/evidence", nil, &raw); err != nil {
		return nil, fmt.Errorf("evidence of %s: %w", host, err)
	}
	return raw, nil
}
