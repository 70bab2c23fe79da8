package cli

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/httpsurl"
	"github.com/bootproof/bootproof/internal/privfile"
	"github.com/bootproof/bootproof/internal/server"
	"github.com/bootproof/bootproof/internal/webhook"
)

// verifierFile is the verifier's configuration file (YAML, strict).
type verifierFile struct {
	Listen      string   `yaml:"listen"`
	DB          string   `yaml:"db"`
	DBMaxConns  int      `yaml:"db_max_conns"`
	Data        string   `yaml:"data"`
	ServerNames []string `yaml:"server_names"`
	CertFile    string   `yaml:"cert_file"`
	KeyFile     string   `yaml:"key_file"`
	EKRoots     []string `yaml:"ek_roots"`
	PinnedEKs   []string `yaml:"pinned_eks"`
	Issuer      string   `yaml:"issuer"`
	LogLevel    string   `yaml:"log_level"`
	MaxParked   int      `yaml:"max_parked"`
	storageFile `yaml:",inline"`
	HostNonces  string `yaml:"host_nonces"`
	MetricsAuth *bool  `yaml:"metrics_auth"`
	Webhooks    []struct {
		URL    string `yaml:"url"`
		Secret string `yaml:"secret"`
	} `yaml:"webhooks"`
}

func newVerifierCmd(stdio IO) *cobra.Command {
	var file verifierFile
	var configPath string
	var webhooks []string
	var pprofAddr string
	cmd := &cobra.Command{
		Use:   "verifier",
		Short: "Run the verifier service (agent protocol, REST API, security report, metrics)",
		Long: `Run the verifier: it enrols hosts, appraises their evidence, keeps history and
serves the agent protocol (/agent/v1), the REST API (/api/v1), the security
report (/) and Prometheus metrics (/metrics; they need an API token unless
--listen is a loopback address, see --metrics-auth) on one TLS port.

Settings come from defaults, then --config FILE (YAML), then BOOTPROOF_*
environment variables (BOOTPROOF_LISTEN, BOOTPROOF_DB, BOOTPROOF_DATA,
BOOTPROOF_EK_ROOTS), then flags. On first start it makes its CA (written to
DATA/ca.pem for clients) and an admin API token (written to DATA/admin.token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadVerifierConfig(cmd, configPath, file, webhooks)
			if err != nil {
				return err
			}
			cfg.Log = newLogger(stdio, file.LogLevel)
			if set := tuneVerifierGC(os.Getenv); len(set) > 0 {
				cfg.Log.Debug("garbage collector set for the verifier (GOGC, GOMEMLIMIT override)", set...)
			}
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr, cfg.Log); err != nil {
					return err
				}
			}
			return runVerifier(cmd.Context(), stdio, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.StringVar(&file.Listen, "listen", ":8443", "TLS address to listen on")
	f.StringVar(&file.DB, "db", "", "SQLite file or postgres:// URL (default DATA/bootproof.db)")
	f.IntVar(&file.DBMaxConns, "db-max-conns", 0, "most PostgreSQL sessions this verifier opens (0: 32); "+
		"keep the replicas' sum under the server's max_connections")
	f.StringVar(&file.Data, "data", "bootproof-data", "data directory (SQLite file, ca.pem, admin.token)")
	f.StringSliceVar(&file.ServerNames, "server-name", nil, "DNS names and IPs for the server certificate")
	f.StringVar(&file.CertFile, "tls-cert", "", "bring your own server certificate (PEM)")
	f.StringVar(&file.KeyFile, "tls-key", "", "key of --tls-cert (PEM)")
	f.StringSliceVar(&file.EKRoots, "ek-roots", nil, "folders of TPM maker CA certificates trusted for EK certificates")
	f.StringSliceVar(&file.PinnedEKs, "pin-ek", nil, "hex SHA-256 of an EK public area to trust without a certificate")
	f.StringVar(&file.Issuer, "issuer", "bootproof", "issuer name in trust tokens")
	f.StringVar(&file.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.IntVar(&file.MaxParked, "max-parked", 0, fmt.Sprintf("most agents' waits held at once, about 20 KB of heap each (0: %d); "+
		"a wait over it is answered at once and its agent waits for its turn without one", api.DefaultMaxParked))
	addStorageFlags(f, &file.storageFile)
	f.StringVar(&file.HostNonces, "host-nonces", "", fmt.Sprintf("each host's nonce allowance, BURST/PERIOD (default %s: "+
		"that many at once, then one per period), or off", server.DefaultNonceAllowance))
	f.StringSliceVar(&webhooks, "webhook", nil, "URL=SECRET of a webhook receiver of status changes")
	f.Bool("metrics-auth", false, "/metrics needs an API token, viewer role or above (default: on unless --listen is a loopback address)")
	f.StringVar(&pprofAddr, "pprof-listen", "", "serve Go's profiler on this loopback address (diagnostics; off by default)")
	return cmd
}

func loadVerifierConfig(cmd *cobra.Command, path string, flags verifierFile, webhooks []string) (server.Config, error) {
	file := verifierFile{Listen: ":8443", Data: "bootproof-data", Issuer: "bootproof"}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return server.Config{}, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&file); err != nil {
			return server.Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	env := map[string]*string{"BOOTPROOF_LISTEN": &file.Listen, "BOOTPROOF_DB": &file.DB, "BOOTPROOF_DATA": &file.Data}
	for k, p := range env {
		if v := os.Getenv(k); v != "" {
			*p = v
		}
	}
	if v := os.Getenv("BOOTPROOF_EK_ROOTS"); v != "" {
		file.EKRoots = strings.Split(v, string(os.PathListSeparator))
	}
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) {
			*dst = v
		}
	}
	set("listen", &file.Listen, flags.Listen)
	set("db", &file.DB, flags.DB)
	set("data", &file.Data, flags.Data)
	set("tls-cert", &file.CertFile, flags.CertFile)
	set("tls-key", &file.KeyFile, flags.KeyFile)
	set("issuer", &file.Issuer, flags.Issuer)
	set("host-nonces", &file.HostNonces, flags.HostNonces)
	if cmd.Flags().Changed("max-parked") {
		file.MaxParked = flags.MaxParked
	}
	if cmd.Flags().Changed("metrics-auth") {
		v, _ := cmd.Flags().GetBool("metrics-auth")
		file.MetricsAuth = &v
	}
	if cmd.Flags().Changed("db-max-conns") {
		file.DBMaxConns = flags.DBMaxConns
	}
	if file.DBMaxConns < 0 {
		return server.Config{}, fmt.Errorf("--db-max-conns %d: want 0 (the default) or more", file.DBMaxConns)
	}
	if file.MaxParked < 0 {
		return server.Config{}, fmt.Errorf("--max-parked %d: want 0 (the default) or more", file.MaxParked)
	}
	mergeStorageFlags(cmd.Flags(), &file.storageFile, flags.storageFile)
	storage, err := file.limits()
	if err != nil {
		return server.Config{}, err
	}
	var nonces server.NonceAllowance
	if file.HostNonces != "" {
		if nonces, err = server.ParseNonceAllowance(file.HostNonces); err != nil {
			return server.Config{}, fmt.Errorf("--host-nonces %w", err)
		}
	}
	if cmd.Flags().Changed("server-name") {
		file.ServerNames = flags.ServerNames
	}
	if cmd.Flags().Changed("ek-roots") {
		file.EKRoots = flags.EKRoots
	}
	if cmd.Flags().Changed("pin-ek") {
		file.PinnedEKs = flags.PinnedEKs
	}
	cfg := server.Config{Listen: file.Listen, DB: file.DB, DataDir: file.Data, ServerNames: file.ServerNames,
		CertFile: file.CertFile, KeyFile: file.KeyFile, EKRoots: file.EKRoots, PinnedEKs: file.PinnedEKs, Issuer: file.Issuer,
		MaxParked: file.MaxParked, DBMaxConns: file.DBMaxConns, Storage: storage, HostNonces: nonces,
		MetricsAuth: server.MetricsAuthDefault(file.Listen)}
	if file.MetricsAuth != nil {
		cfg.MetricsAuth = *file.MetricsAuth
	}
	for _, w := range file.Webhooks {
		cfg.Webhooks = append(cfg.Webhooks, webhook.Target{URL: w.URL, Secret: w.Secret})
	}
	for _, w := range webhooks {
		u, secret, ok := strings.Cut(w, "=")
		if !ok || secret == "" {
			return cfg, fmt.Errorf("--webhook %q: want URL=SECRET", w)
		}
		cfg.Webhooks = append(cfg.Webhooks, webhook.Target{URL: u, Secret: secret})
	}
	if err := checkWebhookURLs(cfg.Webhooks); err != nil {
		return cfg, err
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return cfg, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	return cfg, nil
}

// checkWebhookURLs refuses a webhook receiver on plain HTTP: the payload
// names hosts and why they failed (a map of the fleet's weak hosts), and
// its HMAC signature proves where it came from but hides nothing and
// cannot stop an on-path attacker from dropping it.
func checkWebhookURLs(targets []webhook.Target) error {
	for _, t := range targets {
		if _, err := httpsurl.Check("webhook URL", t.URL); err != nil {
			return err
		}
	}
	return nil
}

func runVerifier(ctx context.Context, stdio IO, cfg server.Config) error {
	s, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := bootstrapAdmin(ctx, stdio, s, cfg.DataDir); err != nil {
		return err
	}
	return s.Run(ctx)
}

// bootstrapAdmin makes the first admin token when the verifier has none,
// and writes it to DATA/admin.token (mode 0600); it is never logged.
func bootstrapAdmin(ctx context.Context, stdio IO, s *server.Server, dataDir string) error {
	toks, err := s.Store.ListAPITokens(ctx)
	if err != nil {
		return err
	}
	if len(toks) > 0 {
		return nil
	}
	tok, _, err := s.Verifier.CreateAPIToken(ctx, "bootstrap", "admin (first start)", auth.Admin)
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, "admin.token")
	if err := privfile.WriteFile(path, []byte(tok+"\n")); err != nil {
		return fmt.Errorf("write first admin token: %w", err)
	}
	fmt.Fprintf(stdio.Err, "bootproof: first start: admin API token written to %s\n", path)
	return nil
}

func newLogger(stdio IO, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(stdio.Err, &slog.HandlerOptions{Level: l}))
}
