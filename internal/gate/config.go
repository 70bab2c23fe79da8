package gate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultConfigPath is where the gate looks for its file when none is given:
// libvirt runs hooks with a bare environment, so the file is the one place
// settings can come from.
const DefaultConfigPath = "/etc/bootproof/gate.yaml"

// Defaults for settings the file leaves out.
const (
	DefaultCacheDir = "/var/lib/bootproof/gate"
	DefaultKeyFile  = "/etc/bootproof/trust-token-keys.pem"
	DefaultAudience = "bootproof-gate"
	DefaultIssuer   = "bootproof"
	DefaultTimeout  = 3 * time.Second
	DefaultLeeway   = 5 * time.Second
)

// maxConfigBytes bounds the file before it is parsed.
const maxConfigBytes = 64 << 10

// File is gate.yaml as written by an operator. Unknown keys are errors.
type File struct {
	// VerifierURL is the verifier's base URL (https://verifier:8443).
	VerifierURL string `yaml:"verifier_url"`
	// CAFile is the verifier's CA certificate (PEM), which authenticates it.
	CAFile string `yaml:"ca_file"`
	// APIToken is a viewer API token; APITokenFile reads it from a file so
	// that the token need not sit in this file.
	APIToken     string `yaml:"api_token"`
	APITokenFile string `yaml:"api_token_file"`
	// Host is this host's name as enrolled with the verifier (default: the
	// system host name).
	Host string `yaml:"host"`
	// CacheDir keeps the latest trust token of each host checked (0700).
	CacheDir string `yaml:"cache_dir"`
	// TokenKeyFile is the pinned trust-token verification key (PEM), saved
	// once by "bootproof gate pin-key".
	TokenKeyFile string `yaml:"token_key_file"`
	Issuer       string `yaml:"issuer"`
	Audience     string `yaml:"audience"`
	// Timeout bounds one whole check, every network call included.
	Timeout string `yaml:"timeout"`
	// Leeway tolerates clock skew when a cached token is checked.
	Leeway string `yaml:"leeway"`
	// FailOpen allows placement when neither the verifier nor a valid
	// cached token answers. Off by default; every such allowance is loud.
	FailOpen bool `yaml:"fail_open"`
}

// Config is the validated gate configuration.
type Config struct {
	VerifierURL  string
	CAFile       string
	APIToken     string
	Host         string
	CacheDir     string
	TokenKeyFile string
	Issuer       string
	Audience     string
	Timeout      time.Duration
	Leeway       time.Duration
	FailOpen     bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ParseFile reads gate.yaml strictly: unknown keys and a second document are
// errors naming their line. Relative paths stay as written.
func ParseFile(b []byte) (File, error) {
	var f File
	if len(b) > maxConfigBytes {
		return f, fmt.Errorf("gate config: %d bytes, more than the %d allowed", len(b), maxConfigBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file sets nothing
		}
		return f, fmt.Errorf("gate config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return f, fmt.Errorf("gate config: after the first document: %w", err)
		}
		return f, fmt.Errorf("gate config: line %d: a second YAML document", extra.Line)
	}
	return f, nil
}

// LoadFile reads and parses the file at path. A missing file at the
// default path is not an error (settings may come from the environment);
// a missing file that was asked for is.
func LoadFile(path string, explicit bool) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return File{}, nil
		}
		return File{}, fmt.Errorf("read gate config: %w", err)
	}
	f, err := ParseFile(b)
	if err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// FromEnv fills settings the file left empty from BOOTPROOF_URL,
// BOOTPROOF_TOKEN, BOOTPROOF_CA and BOOTPROOF_GATE_HOST.
func (f File) FromEnv() File {
	for env, dst := range map[string]*string{"BOOTPROOF_URL": &f.VerifierURL, "BOOTPROOF_TOKEN": &f.APIToken,
		"BOOTPROOF_CA": &f.CAFile, "BOOTPROOF_GATE_HOST": &f.Host} {
		if v := os.Getenv(env); v != "" && *dst == "" {
			*dst = v
		}
	}
	return f
}

// Config turns the file into a validated Config, returning every problem at
// once, each naming its key.
func (f File) Config() (Config, error) {
	c := Config{VerifierURL: f.VerifierURL, CAFile: f.CAFile, APIToken: f.APIToken, Host: f.Host,
		CacheDir: f.CacheDir, TokenKeyFile: f.TokenKeyFile, Issuer: f.Issuer, Audience: f.Audience,
		Timeout: DefaultTimeout, Leeway: DefaultLeeway, FailOpen: f.FailOpen, Now: time.Now}
	var errs []error
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir
	}
	if c.TokenKeyFile == "" {
		c.TokenKeyFile = DefaultKeyFile
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.APIToken == "" && f.APITokenFile != "" {
		b, err := os.ReadFile(f.APITokenFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("api_token_file: %w", err))
		}
		c.APIToken = strings.TrimSpace(string(b))
	}
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			errs = append(errs, fmt.Errorf("host: not set and the system host name is unknown: %w", err))
		}
		c.Host = h
	}
	if err := CheckHostName(c.Host); err != nil {
		errs = append(errs, fmt.Errorf("host: %w", err))
	}
	for key, p := range map[string]struct {
		s   string
		dst *time.Duration
	}{"timeout": {f.Timeout, &c.Timeout}, "leeway": {f.Leeway, &c.Leeway}} {
		if p.s == "" {
			continue
		}
		d, err := time.ParseDuration(p.s)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration like 3s", key, p.s))
			continue
		}
		*p.dst = d
	}
	if c.Timeout <= 0 || c.Timeout > time.Minute {
		errs = append(errs, fmt.Errorf("timeout: %s, want more than 0 and at most 1m (libvirt waits for the hook)", c.Timeout))
	}
	if c.VerifierURL == "" {
		errs = append(errs, errors.New("verifier_url: not set (or BOOTPROOF_URL)"))
	}
	return c, errors.Join(errs...)
}

var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$`)

// CheckHostName accepts names that are safe in a URL path and a file name:
// letters, digits, '.', '_' and '-', not starting with '.' or '-'.
func CheckHostName(name string) error {
	if !hostNameRE.MatchString(name) {
		return fmt.Errorf("host name %q: want letters, digits, '.', '_' or '-' (at most 253), not starting with '.' or '-'", name)
	}
	return nil
}
