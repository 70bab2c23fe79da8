package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/privfile"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/webhook"
)

// Config is the verifier service's configuration, already validated.
type Config struct {
	// Listen is the TLS address (default ":8443").
	Listen string
	// DB is a SQLite file path or a postgres:// URL.
	DB string
	// DBMaxConns bounds the PostgreSQL sessions (0: the store's default).
	DBMaxConns int
	// DataDir receives ca.pem for clients (and the SQLite file by default).
	DataDir string
	// ServerNames are the DNS names and IPs in the server certificate.
	ServerNames []string
	// CertFile and KeyFile bring your own server certificate.
	CertFile, KeyFile string
	// EKRoots are folders of TPM maker CA certificates (PEM or DER).
	EKRoots []string
	// PinnedEKs are hex SHA-256 digests of trusted EK public areas.
	PinnedEKs []string
	// Webhooks receive status changes.
	Webhooks []webhook.Target
	// ReportAuthDisabled lets anyone read the report (demo only).
	ReportAuthDisabled bool
	// Issuer names the fleet in trust tokens.
	Issuer string
	Log    *slog.Logger
	// Ready, if set, receives the bound address once the listener is up.
	Ready func(addr string)
	// Sweep is the sweeper period (default 5 s).
	Sweep time.Duration
	// MetricsAuth makes /metrics need an API token (any role); see
	// MetricsAuthDefault for what the verifier command chooses unasked.
	MetricsAuth bool
	// HostNonces is each host's nonce allowance (zero: DefaultNonceAllowance;
	// NoNonceLimit: none).
	HostNonces NonceAllowance
	// MaxParked bounds the agents' waits parked off net/http's goroutines
	// (default api.DefaultMaxParked); a wait over it is answered at once,
	// telling the agent not to wait again before its next attestation.
	MaxParked int
	// Storage bounds the status-change evidence kept (zero fields: the
	// verifier's defaults).
	Storage verifier.StorageLimits
}

// Server is a running verifier.
type Server struct {
	cfg      Config
	log      *slog.Logger
	Verifier *verifier.Verifier
	Store    store.Store
	CA       *pki.CA
	Metrics  *metrics.Metrics
	Tokens   *trusttoken.Signer
	replica  string
	// parker holds waiting agents' connections while Run serves.
	parker *api.Parker
	// refused counts an agent request refused to keep its host to its
	// share, by code (bootproof_agent_refusals_total).
	refused func(code, host string)
}

// Open prepares everything but does not listen yet.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = ":8443"
	}
	if cfg.DB == "" {
		cfg.DB = filepath.Join(cfg.DataDir, "bootproof.db")
	}
	if err := prepareFiles(cfg); err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// SQLite made its -wal and -shm files now, with the database's mode.
	if err := checkFiles(cfg); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.DBMaxConns != 0 {
		if err := st.SetMaxConns(cfg.DBMaxConns); err != nil {
			st.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	s := &Server{cfg: cfg, log: cfg.Log, Store: st, Metrics: metrics.New(), replica: replicaID()}
	refusals, err := s.Metrics.AgentRefusals()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s.refused = func(code, host string) {
		refusals.WithLabelValues(code).Inc()
		s.log.Debug("agent request refused", "code", code, "host", host)
	}
	if err := s.loadSecrets(ctx); err != nil {
		st.Close()
		return nil, err
	}
	trust, err := enroll.LoadTrustStore(cfg.EKRoots...)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load TPM maker CAs: %w", err)
	}
	pinned := map[string]bool{}
	for _, p := range cfg.PinnedEKs {
		pinned[p] = true
	}
	s.Verifier, err = verifier.New(verifier.Config{Store: st, CA: s.CA, Tokens: s.Tokens, Metrics: s.Metrics,
		Log: cfg.Log.With("subsystem", "verifier"), EKTrust: trust, PinnedEKs: pinned, Issuer: cfg.Issuer,
		ReplicaID: s.replica, Webhooks: len(cfg.Webhooks) > 0, Storage: cfg.Storage})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.warnInvalidGroups(ctx)
	return s, nil
}

func replicaID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// loadSecrets loads the CA and the token key from the store, making them on
// first start. PutKVIfAbsent makes replicas starting together agree.
func (s *Server) loadSecrets(ctx context.Context) error {
	caCert, err := s.kvOnce(ctx, "ca.cert+key", func() ([]byte, error) {
		c, k, err := pki.NewCA("bootproof verifier CA", time.Now())
		return append(append(c, '\n'), k...), err
	})
	if err != nil {
		return err
	}
	s.CA, err = pki.LoadCA(caCert, caCert)
	if err != nil {
		return err
	}
	tokKey, err := s.kvOnce(ctx, "trust-token.key", trusttoken.NewKey)
	if err != nil {
		return err
	}
	s.Tokens, err = trusttoken.NewSigner(tokKey)
	if err != nil {
		return err
	}
	if s.cfg.DataDir != "" {
		if err := privfile.WriteFile(filepath.Join(s.cfg.DataDir, "ca.pem"), s.CA.CertPEM()); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
	}
	return nil
}

func (s *Server) kvOnce(ctx context.Context, key string, make func() ([]byte, error)) ([]byte, error) {
	v, err := s.Store.GetKV(ctx, key)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("load %s: %w", key, err)
	}
	fresh, err := make()
	if err != nil {
		return nil, err
	}
	v, err = s.Store.PutKVIfAbsent(ctx, key, fresh)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", key, err)
	}
	return v, nil
}

// Close releases the store.
func (s *Server) Close() error { return s.Store.Close() }

// Handler returns the verifier's HTTP handler. Agents' waits are held in
// their handlers: parking them needs the serving set up by Run.
func (s *Server) Handler() http.Handler { return s.handler(nil) }

func (s *Server) handler(parker *api.Parker) http.Handler {
	mux := http.NewServeMux()
	a := auth.New(func(ctx context.Context, id string) (auth.Record, error) {
		t, err := s.Store.GetAPIToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Record{}, fmt.Errorf("%w: %w", auth.ErrUnknownToken, err)
		}
		if err != nil {
			return auth.Record{}, err
		}
		return auth.Record{Name: t.Name, SecretHash: t.SecretHash, Role: t.Role, Revoked: t.RevokedAt != nil}, nil
	})
	api.Register(mux, api.Config{Verifier: s.Verifier, Auth: a, Log: s.log.With("subsystem", "api"),
		TokenKeysPEM: s.Tokens.PublicPEM(), Parker: parker})
	registerReport(mux, s, a)
	var metricsHandler http.Handler = s.Metrics.Handler()
	if s.cfg.MetricsAuth {
		// Viewer is enough to read the metrics, as it is to read the report.
		metricsHandler = api.RequireToken(a, s.log.With("subsystem", "metrics"), auth.Viewer, metricsHandler)
	}
	mux.Handle("GET /metrics", metricsHandler)
	adm := defaultAdmission(s.refused)
	if s.cfg.HostNonces != (NonceAllowance{}) {
		adm.Nonces = s.cfg.HostNonces
	}
	return admission(mux, adm)
}

// TLSConfig is the listener's TLS: the server certificate, and client
// certificates verified against the verifier's CA when an agent sends one.
func (s *Server) TLSConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if s.cfg.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
	} else {
		names := s.cfg.ServerNames
		if len(names) == 0 {
			names = []string{"localhost", "127.0.0.1", "::1"}
			if h, err := os.Hostname(); err == nil {
				names = append(names, h)
			}
		}
		cert, err = s.CA.ServerCert(names, time.Now())
	}
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs: s.CA.Pool(), MinVersion: tls.VersionTLS12}, nil
}

// Run serves until ctx ends or a task fails.
func (s *Server) Run(ctx context.Context) error {
	tc, err := s.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (is another process using the port? choose another with --listen): %w", s.cfg.Listen, err)
	}
	// Waiting agents' connections are parked off net/http's goroutines
	// and handed back through parker.Listener (internal/api/park.go).
	parker, err := api.NewParker(api.ParkerConfig{Verifier: s.Verifier, Max: s.cfg.MaxParked,
		Refused: s.Metrics.WaitsRefused.Inc, Log: s.log.With("subsystem", "park"),
		Replaced:     func(host string) { s.refused("wait.replaced", host) },
		AnsweredLate: func(d time.Duration) { s.Metrics.WaitAnsweredLate.Observe(d.Seconds()) }})
	if err != nil {
		s.log.Warn("agents' waits will be held in their handlers", "err", err)
	}
	s.parker = parker
	if parker != nil {
		if err := s.Metrics.WatchParkedWaits(parker.Parked); err != nil {
			s.log.Warn("parked waits metric", "err", err)
		}
	}
	if s.cfg.Ready != nil {
		s.cfg.Ready(ln.Addr().String())
	}
	srv := &http.Server{Handler: s.handler(parker), TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// An attestation's evidence request takes the host its nonce
		// request read on the same connection (internal/api/identity.go).
		ConnContext: api.ConnContext,
		// HTTP/1.1 only: every agent holds a connection open (its long
		// poll), and an idle HTTP/2 connection costs the server much more
		// memory than an HTTP/1.1 one. With 6,000 agents connected the
		// verifier's RSS was 1.1 GB over HTTP/2 and 0.63 GB over HTTP/1.1
		// (docs/performance.md).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	wh := webhook.New(webhook.Config{Outbox: s.Store, Targets: s.cfg.Webhooks, Owner: s.replica,
		Log:      s.log.With("subsystem", "webhook"),
		OnResult: func(o string) { s.Metrics.WebhookSent.WithLabelValues(o).Inc() }})
	s.log.Info("verifier listening", "addr", ln.Addr().String(), "replica", s.replica)
	return runTasks(ctx,
		func(ctx context.Context) error { return serve(ctx, srv, ln, parker) },
		func(ctx context.Context) error { return s.Verifier.RunSweeper(ctx, s.cfg.Sweep) },
		s.Verifier.RunAttestRequests,
		wh.Run,
	)
}

// serve serves ln, and the connections parker hands back, with srv until
// ctx ends or a listener fails; then it shuts srv down and closes the
// parked connections (which Shutdown does not know of: they are hijacked).
func serve(ctx context.Context, srv *http.Server, ln net.Listener, parker *api.Parker) error {
	errs := make(chan error, 2)
	serving := 1
	go func() { errs <- srv.ServeTLS(ln, "", "") }()
	if parker != nil {
		serving++
		go func() { errs <- srv.Serve(parker.Listener()) }()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
		serving--
	}
	// Shutdown first: it marks the server closing before it closes the
	// listeners, so both Serve calls return ErrServerClosed.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	parker.Close()
	for ; serving > 0; serving-- {
		if err := <-errs; first == nil && !errors.Is(err, http.ErrServerClosed) {
			first = err
		}
	}
	if errors.Is(first, http.ErrServerClosed) {
		return nil
	}
	return first
}

// runTasks runs every task until ctx ends; the first to fail (or to return
// while ctx is live) cancels the rest, so no task dies silently while the
// others keep serving.
func runTasks(ctx context.Context, tasks ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := t(ctx)
			if ctx.Err() == nil && err == nil {
				err = errors.New("a verifier task stopped unexpectedly")
			}
			if err != nil && ctx.Err() == nil {
				once.Do(func() { first = err })
			}
			cancel()
		}()
	}
	wg.Wait()
	return first
}
