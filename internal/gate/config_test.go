package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFile(t *testing.T) {
	b, err := os.ReadFile("testdata/gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(b)
	if err != nil {
		t.Fatalf("ParseFile(testdata/gate.yaml): %v", err)
	}
	if f.VerifierURL != "https://verifier.example.net:8443" || f.Host != "hv-01" || f.FailOpen {
		t.Errorf("ParseFile = %+v", f)
	}
	tests := []struct{ in, want string }{
		{"verifier_url: x\nfail_closed: true\n", "field fail_closed not found"},
		{"fail_open: maybe\n", "cannot unmarshal"},
		{"host: a\n---\nhost: b\n", "second YAML document"},
	}
	for _, tt := range tests {
		if _, err := ParseFile([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFile(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestFileConfig(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "gate.token")
	if err := os.WriteFile(tokFile, []byte("bp_abc_def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := File{VerifierURL: "https://v:8443", Host: "hv-01", APITokenFile: tokFile, Timeout: "1500ms"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.APIToken != "bp_abc_def" || c.Timeout != 1500*time.Millisecond || c.Leeway != DefaultLeeway ||
		c.CacheDir != DefaultCacheDir || c.Audience != DefaultAudience || c.FailOpen {
		t.Errorf("Config = %+v", c)
	}
	_, err = File{Host: "../x", Timeout: "soon", APITokenFile: filepath.Join(t.TempDir(), "none")}.Config()
	for _, want := range []string{"verifier_url: not set", "host: host name", "timeout: \"soon\"", "api_token_file:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Config of a bad file = %v, want it to name %q", err, want)
		}
	}
}
