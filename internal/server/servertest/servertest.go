package servertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/server"
	"github.com/bootproof/bootproof/internal/webhook"
)

// Options change what Start runs. The zero value is a plain verifier.
type Options struct {
	// DB is a store URL (e.g. from pgtest.Start); default a SQLite file in
	// a temporary directory.
	DB string
	// Webhooks receive status changes; WebhookPoll is how often the outbox
	// is read (default 100 ms, so tests do not wait).
	Webhooks    []webhook.Target
	WebhookPoll time.Duration
	// Sweep is the sweeper period (default 1 s).
	Sweep time.Duration
	// Issuer names the fleet in trust tokens (default "bootproof").
	Issuer string
}

// Env is a running in-process verifier.
type Env struct {
	// URL is the verifier's base URL, https://127.0.0.1:PORT.
	URL string
	// CAPEM is the verifier's CA certificate, which signed its server
	// certificate and signs agents' client certificates.
	CAPEM []byte
	// AdminToken is an API token with the admin role.
	AdminToken string
	// MakerCADir holds an emulated TPM maker CA the verifier trusts for EK
	// certificates (pass it as emurun.Config.MakerCADir).
	MakerCADir string
	// Server is the assembled verifier (its Store, Verifier, Tokens).
	Server *server.Server

	tb     testing.TB
	mu     sync.Mutex
	tokens map[auth.Role]string
}

// Start runs a verifier until tb ends.
func Start(tb testing.TB) *Env { return StartWith(tb, Options{}) }

// StartWith runs a verifier with opts until tb ends.
func StartWith(tb testing.TB, opts Options) *Env {
	tb.Helper()
	dir := tb.TempDir()
	makerDir := filepath.Join(dir, "maker")
	if _, err := makerca.LoadOrCreate(makerDir); err != nil {
		tb.Fatalf("servertest: make TPM maker CA: %v", err)
	}
	if opts.DB == "" {
		opts.DB = filepath.Join(dir, "bootproof.db")
	}
	if opts.WebhookPoll == 0 {
		opts.WebhookPoll = 100 * time.Millisecond
	}
	if opts.Sweep == 0 {
		opts.Sweep = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, server.Config{DB: opts.DB, DataDir: filepath.Join(dir, "data"),
		EKRoots: []string{makerDir}, Webhooks: opts.Webhooks, Issuer: opts.Issuer, Sweep: opts.Sweep,
		ServerNames: []string{"127.0.0.1", "localhost"}})
	if err != nil {
		cancel()
		tb.Fatalf("servertest: open verifier: %v", err)
	}
	tc, err := srv.TLSConfig()
	if err != nil {
		cancel()
		srv.Close()
		tb.Fatalf("servertest: TLS configuration: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.TLS = tc
	hs.Config.ConnContext = api.ConnContext // as server.Run serves
	hs.StartTLS()

	// The background tasks server.Run would run.
	wh := webhook.New(webhook.Config{Outbox: srv.Store, Targets: opts.Webhooks, Owner: "servertest", Poll: opts.WebhookPoll})
	var wg sync.WaitGroup
	for _, task := range []func(context.Context) error{
		func(ctx context.Context) error { return srv.Verifier.RunSweeper(ctx, opts.Sweep) },
		srv.Verifier.RunAttestRequests,
		wh.Run,
	} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = task(ctx) }()
	}
	tb.Cleanup(func() {
		cancel()
		hs.Close()
		wg.Wait()
		srv.Close()
	})

	e := &Env{URL: hs.URL, CAPEM: srv.CA.CertPEM(), MakerCADir: makerDir, Server: srv, tb: tb,
		tokens: map[auth.Role]string{}}
	e.AdminToken = e.Token(auth.Admin)
	return e
}

// Token returns an API token with role, made on first use.
func (e *Env) Token(role auth.Role) string {
	e.tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.tokens[role]; ok {
		return t
	}
	t := e.NewToken(role, "servertest "+role.String())
	e.tokens[role] = t
	return t
}

// NewToken makes a fresh API token with role and name.
func (e *Env) NewToken(role auth.Role, name string) string {
	e.tb.Helper()
	t, _, err := e.Server.Verifier.CreateAPIToken(context.Background(), "servertest", name, role)
	if err != nil {
		e.tb.Fatalf("servertest: create %s token: %v", role, err)
	}
	return t
}

// HTTPClient returns a client that trusts the verifier's CA.
func (e *Env) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.CAPEM)
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}
