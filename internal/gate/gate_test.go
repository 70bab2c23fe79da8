package gate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
)

// standIn is an httptest verifier that answers placement and trust-token
// requests the way internal/api does, signing with a real trusttoken key.
type standIn struct {
	srv    *httptest.Server
	signer *trusttoken.Signer
	caFile string
	// allow, status and code are what the next answers say.
	allow  atomic.Bool
	status atomic.Value // string
	code   atomic.Int32 // non-zero: answer every request with this HTTP status
	delay  atomic.Int64 // nanoseconds to sleep before answering
	calls  atomic.Int32
}

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newSigner(t *testing.T) *trusttoken.Signer {
	t.Helper()
	k, err := trusttoken.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := trusttoken.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	v := &standIn{signer: newSigner(t)}
	v.status.Store("Passed")
	v.allow.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/hosts/{name}/placement", func(w http.ResponseWriter, r *http.Request) {
		if !v.answer(w, r) {
			return
		}
		json.NewEncoder(w).Encode(verifier.Decision{Host: r.PathValue("name"), Allow: v.allow.Load(),
			Reason: "stand-in says " + v.status.Load().(string), ReasonCode: standInCode(v.status.Load().(string)),
			Status: v.status.Load().(string), Mode: "enforce", Fresh: true})
	})
	mux.HandleFunc("POST /api/v1/hosts/{name}/trust-token", func(w http.ResponseWriter, r *http.Request) {
		if !v.answer(w, r) {
			return
		}
		tok := v.token(t, r.PathValue("name"), r.URL.Query().Get("audience"), v.allow.Load(), testNow.Add(time.Minute))
		json.NewEncoder(w).Encode(api.TrustTokenResponse{Token: tok})
	})
	mux.HandleFunc("GET "+KeysPath, func(w http.ResponseWriter, r *http.Request) { w.Write(v.signer.PublicPEM()) })
	v.srv = httptest.NewTLSServer(mux)
	t.Cleanup(v.srv.Close)
	v.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.srv.Certificate().Raw})
	if err := os.WriteFile(v.caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *standIn) answer(w http.ResponseWriter, r *http.Request) bool {
	v.calls.Add(1)
	if d := v.delay.Load(); d > 0 {
		select {
		case <-time.After(time.Duration(d)):
		case <-r.Context().Done():
			return false
		}
	}
	if c := v.code.Load(); c != 0 {
		w.WriteHeader(int(c))
		json.NewEncoder(w).Encode(api.Error{Code: "stand_in", Message: "stand-in error"})
		return false
	}
	return true
}

func (v *standIn) token(t *testing.T, host, aud string, allow bool, exp time.Time) string {
	t.Helper()
	return issue(t, v.signer, trusttoken.Claims{Issuer: DefaultIssuer, Subject: host, Audience: aud,
		IssuedAt: testNow.Unix(), NotBefore: testNow.Unix(), Expiry: exp.Unix(), Status: v.status.Load().(string),
		ReasonCode: standInCode(v.status.Load().(string)), Placement: map[bool]string{true: "allow", false: "deny"}[allow]})
}

func issue(t *testing.T, s *trusttoken.Signer, c trusttoken.Claims) string {
	t.Helper()
	tok, err := s.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newTestGate builds a gate against the stand-in with its key pinned.
func newTestGate(t *testing.T, v *standIn, edit func(*Config)) (*Gate, Config) {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{VerifierURL: v.srv.URL, CAFile: v.caFile, Host: "hv-01", CacheDir: filepath.Join(dir, "cache"),
		TokenKeyFile: filepath.Join(dir, "keys.pem"), Issuer: DefaultIssuer, Audience: DefaultAudience,
		Timeout: 2 * time.Second, Now: func() time.Time { return testNow }}
	if _, err := PinKey(context.Background(), cfg); err != nil {
		t.Fatalf("PinKey: %v", err)
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, cfg
}

// TestCheckOnline: while the verifier answers, its answer is the decision,
// an allow refreshes the cached token (0600), and a deny removes any token
// an earlier allow left, so a later outage cannot undo it.
func TestCheckOnline(t *testing.T) {
	tests := []struct {
		name       string
		allow      bool
		code       int
		wantAllow  bool
		wantCached bool
		wantReason string
	}{
		{"passed host", true, 0, true, true, "stand-in says Passed"},
		{"failed host", false, 0, false, false, "stand-in says Failed"},
		{"unknown host", false, http.StatusNotFound, false, false, "does not know this host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newStandIn(t)
			g, cfg := newTestGate(t, v, nil)
			old := v.token(t, "hv-01", DefaultAudience, true, testNow.Add(time.Hour))
			if err := g.cache.put("hv-01", old); err != nil {
				t.Fatal(err)
			}
			v.allow.Store(tt.allow)
			if !tt.allow {
				v.status.Store("Failed")
			}
			v.code.Store(int32(tt.code))
			d := g.Check(context.Background(), "hv-01")
			if d.Allow != tt.wantAllow || d.Source != SourceVerifier || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("Check = %+v, want allow=%v from the verifier, reason containing %q", d, tt.wantAllow, tt.wantReason)
			}
			// Whatever the cache holds now must not allow more than the verifier did.
			cachedAllow := false
			if tok, _ := g.cache.get("hv-01"); tok != "" {
				if c, err := g.verifyToken(tok, "hv-01"); err == nil && c.Placement == "allow" {
					cachedAllow = true
				}
				if tok == old {
					t.Error("cached token was not replaced")
				}
			}
			if cachedAllow != tt.wantCached {
				t.Fatalf("cache holds an allowing token = %v, want %v", cachedAllow, tt.wantCached)
			}
			if fi, err := os.Stat(filepath.Join(cfg.CacheDir, "hv-01.token")); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("cached token mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestCheckOffline: with the verifier unreachable, only a cached token that
// verifies against the pinned key, is for this host and this audience, is
// within its lifetime and says "allow" allows; otherwise fail closed, or
// fail open when configured, saying so.
func TestCheckOffline(t *testing.T) {
	other := newSigner(t)
	tests := []struct {
		name       string
		token      func(v *standIn) string
		failOpen   bool
		wantAllow  bool
		wantSource string
		wantReason string
	}{
		{"valid cached token", func(v *standIn) string { return v.token(t, "hv-01", DefaultAudience, true, testNow.Add(time.Minute)) },
			false, true, SourceCachedToken, "allows placement until 2025-03-01T12:01:00Z"},
		{"no cached token", nil, false, false, SourceFailClosed, "no cached trust token"},
		{"no cached token, fail-open", nil, true, true, SourceFailOpen, "FAIL-OPEN"},
		{"expired token", func(v *standIn) string { return v.token(t, "hv-01", DefaultAudience, true, testNow.Add(-time.Second)) },
			false, false, SourceFailClosed, "token expired"},
		{"forged token", func(v *standIn) string {
			return issue(t, other, trusttoken.Claims{Issuer: DefaultIssuer, Subject: "hv-01", Audience: DefaultAudience,
				NotBefore: testNow.Unix(), Expiry: testNow.Add(time.Hour).Unix(), Status: "Passed", Placement: "allow"})
		}, false, false, SourceFailClosed, "signature does not verify"},
		{"forged token, fail-open still refuses it", func(v *standIn) string {
			good := v.token(t, "hv-01", DefaultAudience, false, testNow.Add(time.Hour))
			parts := strings.Split(good, ".")
			body, _ := json.Marshal(trusttoken.Claims{Issuer: DefaultIssuer, Subject: "hv-01", Audience: DefaultAudience,
				Expiry: testNow.Add(time.Hour).Unix(), Status: "Passed", Placement: "allow"})
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2] // claims edited, signature kept
		}, true, true, SourceFailOpen, "signature does not verify"},
		{"token for another host", func(v *standIn) string { return v.token(t, "hv-02", DefaultAudience, true, testNow.Add(time.Minute)) },
			false, false, SourceFailClosed, `token is for host "hv-02"`},
		{"token for another audience", func(v *standIn) string { return v.token(t, "hv-01", "scheduler", true, testNow.Add(time.Minute)) },
			false, false, SourceFailClosed, "another audience"},
		{"token that says deny", func(v *standIn) string { return v.token(t, "hv-01", DefaultAudience, false, testNow.Add(time.Minute)) },
			true, false, SourceCachedToken, "denies placement"},
		{"garbage in the cache", func(v *standIn) string { return "not a token" }, false, false, SourceFailClosed, "malformed token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newStandIn(t)
			g, _ := newTestGate(t, v, func(c *Config) { c.FailOpen = tt.failOpen })
			if tt.token != nil {
				if err := g.cache.put("hv-01", tt.token(v)); err != nil {
					t.Fatal(err)
				}
			}
			v.srv.Close() // the verifier is down
			d := g.Check(context.Background(), "hv-01")
			if d.Allow != tt.wantAllow || d.Source != tt.wantSource || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("Check = %+v\nwant allow=%v source=%q reason containing %q", d, tt.wantAllow, tt.wantSource, tt.wantReason)
			}
			if !strings.Contains(d.Reason, "verifier unreachable") {
				t.Errorf("reason %q does not say the verifier was unreachable", d.Reason)
			}
		})
	}
}

// TestCheckBounded: a verifier that accepts the connection but never
// answers, or answers 503, must not hold the gate past its timeout; the
// cached token then decides.
func TestCheckBounded(t *testing.T) {
	for _, tt := range []struct {
		name  string
		delay time.Duration
		code  int
	}{{"hung verifier", 10 * time.Second, 0}, {"verifier answers 503", 0, http.StatusServiceUnavailable}} {
		t.Run(tt.name, func(t *testing.T) {
			v := newStandIn(t)
			g, _ := newTestGate(t, v, func(c *Config) { c.Timeout = 300 * time.Millisecond })
			if err := g.cache.put("hv-01", v.token(t, "hv-01", DefaultAudience, true, testNow.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
			v.delay.Store(int64(tt.delay))
			v.code.Store(int32(tt.code))
			began := time.Now()
			d := g.Check(context.Background(), "hv-01")
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("Check took %s with a 300ms timeout", took)
			}
			if !d.Allow || d.Source != SourceCachedToken {
				t.Errorf("Check = %+v, want an allow from the cached token", d)
			}
		})
	}
}

// TestCheckWithoutPinnedKey: the online answer needs no key, but nothing is
// cached and an outage then fails closed.
func TestCheckWithoutPinnedKey(t *testing.T) {
	v := newStandIn(t)
	g, _ := newTestGate(t, v, func(c *Config) { c.TokenKeyFile = filepath.Join(t.TempDir(), "missing.pem") })
	d := g.Check(context.Background(), "hv-01")
	if !d.Allow || len(d.Warnings) == 0 || !strings.Contains(d.Warnings[0], "pin-key") {
		t.Fatalf("online Check = %+v, want allow with a warning naming pin-key", d)
	}
	v.srv.Close()
	if d := g.Check(context.Background(), "hv-01"); d.Allow {
		t.Fatalf("offline Check without a pinned key = %+v, want deny", d)
	}
}

// TestPinKeyRefusesPlainHTTP: a key fetched without TLS proves nothing.
func TestPinKeyRefusesPlainHTTP(t *testing.T) {
	_, err := PinKey(context.Background(), Config{VerifierURL: "http://verifier:8080", TokenKeyFile: filepath.Join(t.TempDir(), "k.pem")})
	if err == nil || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("PinKey over http = %v, want a refusal", err)
	}
}

// TestCheckBadHostName: a name that could escape the cache directory or
// the URL path is refused before anything is asked.
func TestCheckBadHostName(t *testing.T) {
	v := newStandIn(t)
	g, _ := newTestGate(t, v, nil)
	for _, name := range []string{"../etc/passwd", "", "a/b", "-x", ".hidden"} {
		if d := g.Check(context.Background(), name); d.Allow || d.Source != SourceFailClosed {
			t.Errorf("Check(%q) = %+v, want a fail-closed deny", name, d)
		}
	}
	if n := v.calls.Load(); n != 0 {
		t.Errorf("the verifier was asked %d times about bad names", n)
	}
}
