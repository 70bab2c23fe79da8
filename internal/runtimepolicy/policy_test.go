package runtimepolicy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseExample(t *testing.T) {
	p, err := Parse(readTestdata(t, "runtime.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		UnknownFiles: ModeEnforce,
		Allow: map[string][]string{
			"/usr/bin/bash":                       {"sha256:" + strings.Repeat("3", 64), "sha256:" + strings.Repeat("4", 64)},
			"/usr/lib/x86_64-linux-gnu/libc.so.6": {"sha1:" + strings.Repeat("5", 40)},
		},
		Exclude: []string{"/tmp/*", "/var/log/**"},
		Deny: []DenyRule{
			{Digest: "sha256:" + strings.Repeat("6", 64), Label: "openssl 3.0.2 (CVE-2022-3602)", Mode: ModeEnforce},
			{Digest: "sha256:" + strings.Repeat("7", 64), Mode: ModeLogOnly},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("Parse(Marshal(p)) = %+v, %v; want the policy back\n%s", back, err, out)
	}
}

// readTestdata reads a file of testdata/.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown key", "unknown_files: enforce\nexcludes: [/tmp/*]\n", "line 2: field excludes not found"},
		{"unknown key in a deny rule", "deny:\n  - digest: sha256:00\n    reason: x\n", "line 3: field reason not found"},
		{"a path twice", "allow:\n  /bin/sh: [sha256:00]\n  /bin/sh: [sha256:11]\n", `line 3: mapping key "/bin/sh" already defined`},
		{"wrong type", "exclude: /tmp/*\n", "line 1: cannot unmarshal"},
		{"second document", "unknown_files: enforce\n---\nunknown_files: log-only\n", "line 2: a second YAML document"},
		{"empty", "", "empty document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	rsaK, _, _ := testKeys(t)
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name string
		p    Policy
		want string // "" for valid
	}{
		{"valid", Policy{UnknownFiles: ModeLogOnly, Allow: map[string][]string{"/bin/sh": {good}}, Exclude: []string{"/tmp/*"}, TrustedKeys: []TrustedKey{{Certificate: rsaK.certPEM, Mode: ModeEnforce}}}, ""},
		{"unknown_files mode", Policy{UnknownFiles: "warn"}, `unknown_files: "warn", want enforce or log-only`},
		{"digest without algorithm", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"/bin/sh": {strings.Repeat("ab", 32)}}}, `allow["/bin/sh"][0]: digest "abab`},
		{"digest of the wrong size", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"/bin/sh": {"sha1:" + strings.Repeat("ab", 32)}}}, `allow["/bin/sh"][0]: digest "sha1:abab` + strings.Repeat("ab", 30) + `": 32 bytes, sha1 is 20`},
		{"uppercase digest", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"/bin/sh": {"sha256:" + strings.Repeat("AB", 32)}}}, "want lowercase hex"},
		{"unknown algorithm", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"/bin/sh": {"md5:" + strings.Repeat("ab", 16)}}}, `algorithm "md5"`},
		{"path without digests", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"/bin/sh": {}}}, `allow["/bin/sh"]: no digests`},
		{"empty path", Policy{UnknownFiles: ModeEnforce, Allow: map[string][]string{"": {good}}}, "allow: an empty path"},
		{"empty glob", Policy{UnknownFiles: ModeEnforce, Exclude: []string{"/tmp/*", ""}}, "exclude[1]: empty glob"},
		{"three stars", Policy{UnknownFiles: ModeEnforce, Exclude: []string{"/var/***"}}, "exclude[0]: glob \"/var/***\": three stars"},
		{"deny digest", Policy{UnknownFiles: ModeEnforce, Deny: []DenyRule{{Digest: "sha256:zz", Mode: ModeEnforce}}}, `deny[0].digest: digest "sha256:zz": not hex`},
		{"deny mode", Policy{UnknownFiles: ModeEnforce, Deny: []DenyRule{{Digest: good, Mode: "off"}}}, `deny[0].mode: "off"`},
		{"key not PEM", Policy{UnknownFiles: ModeEnforce, TrustedKeys: []TrustedKey{{Certificate: "MIIB", Mode: ModeEnforce}}}, "trusted_keys[0].certificate: no PEM block"},
		{"two keys in one entry", Policy{UnknownFiles: ModeEnforce, TrustedKeys: []TrustedKey{{Certificate: rsaK.certPEM + rsaK.certPEM, Mode: ModeEnforce}}}, "trusted_keys[0].certificate: more after the certificate"},
		{"key mode", Policy{UnknownFiles: ModeEnforce, TrustedKeys: []TrustedKey{{Certificate: rsaK.certPEM, Mode: "warn"}}}, `trusted_keys[0].mode: "warn"`},
		{"every problem at once", Policy{UnknownFiles: "x", Exclude: []string{""}}, "exclude[0]: empty glob, which would match nothing; to exclude everything use /**\nunknown_files: \"x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		glob, path string
		want       bool
	}{
		{"/tmp/*", "/tmp/a", true},
		{"/tmp/*", "/tmp/", true},
		{"/tmp/*", "/tmp", false},
		{"/tmp/*", "/tmp/a/b", false},
		{"/tmp/*", "/tmpx/a", false},
		{"/tmp", "/tmp/a", false},
		{"/var/log/**", "/var/log/a", true},
		{"/var/log/**", "/var/log/a/b/c", true},
		{"/var/log/**", "/var/log", false},
		{"/var/log/**", "/var/logs/a", false},
		{"/**/*.pyc", "/usr/lib/python3/x.pyc", true},
		{"/**/*.pyc", "/x.pyc", false},
		{"/usr/lib/*/libc.so.?", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/usr/lib/*/libc.so.?", "/usr/lib/a/b/libc.so.6", false},
		{"/a?c", "/a/c", false},
		{"/usr/lib/libfoo.so", "/usr/lib/libfooXso", false},
		{"/srv/[x]/*", "/srv/[x]/f", true},
		{"/srv/[x]/*", "/srv/x/f", false},
		{"/home/*/.cache/**", "/home/ann/.cache/a/b", true},
		{"/tmp/*", "/tmp/a\nb", true},
		{"/**", "memfd:x", false},
		{"**", "memfd:x", true},
	}
	for _, tt := range tests {
		got, err := MatchGlob(tt.glob, tt.path)
		if err != nil {
			t.Fatalf("MatchGlob(%q): %v", tt.glob, err)
		}
		if got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.glob, tt.path, got, tt.want)
		}
	}
}
