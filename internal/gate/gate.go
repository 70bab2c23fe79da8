package gate

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// Where a decision came from.
const (
	SourceVerifier    = "verifier"
	SourceCachedToken = "cached trust token"
	SourceFailOpen    = "fail-open"
	SourceFailClosed  = "fail-closed"
)

// Decision is the gate's answer for one host.
type Decision struct {
	Host   string
	Allow  bool
	Reason string
	// ReasonCode is the host's headline code as the verifier or the cached
	// token states it ("" when the host passed or nobody answered).
	ReasonCode string
	// Source says who answered: the verifier, a cached token, or nobody
	// (fail-open or fail-closed).
	Source string
	// Status is the host's status as the answer states it, when known.
	Status string
	// Warnings are problems that did not change the answer (a token that
	// could not be cached, say); the CLI prints them on stderr.
	Warnings []string
}

// Line is the one line that says what was decided and why.
func (d Decision) Line() string {
	verb := "deny"
	if d.Allow {
		verb = "allow"
	}
	return fmt.Sprintf("%s: host %s: %s [%s]", verb, d.Host, d.Reason, d.Source)
}

// Gate decides placement for hosts against one verifier.
type Gate struct {
	cfg    Config
	api    *client.Client
	cache  tokenCache
	keys   []*ecdsa.PublicKey
	keyErr error // why offline verification is impossible, when keys is nil
}

// New builds a gate. A missing pinned key is not an error here: the online
// answer does not need it, and Check says so when it would have.
func New(cfg Config) (*Gate, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	api, err := client.New(client.Settings{URL: cfg.VerifierURL, Token: cfg.APIToken, CAFile: cfg.CAFile, Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	g := &Gate{cfg: cfg, api: api, cache: tokenCache{dir: cfg.CacheDir}}
	b, err := os.ReadFile(cfg.TokenKeyFile)
	switch {
	case err != nil:
		g.keyErr = fmt.Errorf("no pinned trust-token key (%w); run \"bootproof gate pin-key\"", err)
	default:
		if g.keys, err = trusttoken.ParsePublicKeys(b); err != nil {
			g.keyErr = fmt.Errorf("pinned trust-token key %s: %w", cfg.TokenKeyFile, err)
		}
	}
	return g, nil
}

// placementAnswer is the verifier's GET .../placement body (verifier.Decision).
type placementAnswer struct {
	Host       string `json:"host"`
	Allow      bool   `json:"allow"`
	Reason     string `json:"reason"`
	ReasonCode string `json:"reason_code"`
	Status     string `json:"status"`
	Mode       string `json:"mode"`
}

// tokenAnswer is the verifier's POST .../trust-token body.
type tokenAnswer struct {
	Token string `json:"token"`
}

// Check decides for host. It asks the verifier and refreshes the host's
// cached token; if the verifier cannot be reached it falls back to the
// cached token, and if that is missing or invalid it fails closed (or open,
// loudly, when configured). It never takes longer than the configured
// timeout.
func (g *Gate) Check(ctx context.Context, host string) Decision {
	if err := CheckHostName(host); err != nil {
		return Decision{Host: host, Reason: err.Error(), Source: SourceFailClosed}
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	d, err := g.askVerifier(ctx, host)
	if err == nil {
		return d
	}
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		// The verifier answered: it does not know this host. That is a deny,
		// and no older token may undo it.
		d := Decision{Host: host, Reason: "the verifier does not know this host: " + ae.Message, Source: SourceVerifier}
		if derr := g.cache.drop(host); derr != nil {
			d.Warnings = append(d.Warnings, derr.Error())
		}
		return d
	}
	return g.offline(host, describe(err, g.cfg.Timeout))
}

func (g *Gate) askVerifier(ctx context.Context, host string) (Decision, error) {
	var pa placementAnswer
	path := "/api/v1/hosts/" + url.PathEscape(host)
	if err := g.api.Do(ctx, "GET", path+"/placement", nil, &pa); err != nil {
		return Decision{}, err
	}
	d := Decision{Host: host, Allow: pa.Allow, Reason: pa.Reason, ReasonCode: pa.ReasonCode, Status: pa.Status, Source: SourceVerifier}
	var ta tokenAnswer
	err := g.api.Do(ctx, "POST", path+"/trust-token?audience="+url.QueryEscape(g.cfg.Audience), nil, &ta)
	if err != nil {
		d.Warnings = append(d.Warnings, "trust token not refreshed: "+describe(err, g.cfg.Timeout))
		if !d.Allow {
			g.dropInto(&d, host)
		}
		return d, nil
	}
	c, err := g.verifyToken(ta.Token, host)
	switch {
	case err != nil:
		d.Warnings = append(d.Warnings, "trust token not cached: "+err.Error())
		if !d.Allow {
			g.dropInto(&d, host)
		}
	case !d.Allow && c.Placement == "allow":
		// The verdict changed between the two calls; keep the stricter one.
		g.dropInto(&d, host)
	default:
		if err := g.cache.put(host, ta.Token); err != nil {
			d.Warnings = append(d.Warnings, err.Error())
		}
	}
	return d, nil
}

func (g *Gate) dropInto(d *Decision, host string) {
	if err := g.cache.drop(host); err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
}

// offline decides from the cached token while the verifier is unreachable.
func (g *Gate) offline(host, why string) Decision {
	d := Decision{Host: host}
	tok, err := g.cache.get(host)
	var c *trusttoken.Claims
	switch {
	case err != nil:
		err = fmt.Errorf("cached trust token unreadable: %w", err)
	case tok == "":
		err = errors.New("no cached trust token")
	default:
		if c, err = g.verifyToken(tok, host); err != nil {
			err = fmt.Errorf("cached trust token rejected: %w", err)
		}
	}
	if err == nil {
		d.Source, d.Status, d.ReasonCode = SourceCachedToken, c.Status, c.ReasonCode
		until := time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339)
		if c.Placement == "allow" {
			d.Allow = true
			d.Reason = fmt.Sprintf("verifier unreachable (%s); cached trust token (status %s) allows placement until %s", why, c.Status, until)
		} else {
			d.Reason = fmt.Sprintf("verifier unreachable (%s); cached trust token (status %s) denies placement: %s", why, c.Status, c.Reason)
		}
		return d
	}
	if g.cfg.FailOpen {
		d.Allow, d.Source = true, SourceFailOpen
		d.Reason = fmt.Sprintf("FAIL-OPEN: verifier unreachable (%s) and %v; allowed only because fail_open is set", why, err)
		return d
	}
	d.Source = SourceFailClosed
	d.Reason = fmt.Sprintf("verifier unreachable (%s) and %v", why, err)
	return d
}

// verifyToken checks a token as a relying party must: signature by a pinned
// key, issuer, audience, validity window, and that it speaks of this host.
func (g *Gate) verifyToken(tok, host string) (*trusttoken.Claims, error) {
	if g.keys == nil {
		return nil, g.keyErr
	}
	c, err := trusttoken.Verify(tok, g.keys, trusttoken.Expectations{Issuer: g.cfg.Issuer, Audience: g.cfg.Audience,
		Now: g.cfg.Now(), Leeway: g.cfg.Leeway})
	if err != nil {
		return nil, err
	}
	if c.Subject != host {
		return nil, fmt.Errorf("token is for host %q, not %q", c.Subject, host)
	}
	return c, nil
}

// describe shortens a transport error to what an operator needs on one line.
func describe(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
