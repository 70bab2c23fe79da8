package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		file string
		want func(p *Policy)
	}{
		{"minimal takes every default", "minimal.yaml", func(p *Policy) {
			p.Interval = 2 * time.Minute
			p.VerdictMaxAge = 4 * time.Minute // twice the interval read
		}},
		{"full sets every key", "full.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.file, err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate(%s): %v", tt.file, err)
			}
			if tt.want == nil {
				return
			}
			want := Default()
			tt.want(want)
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParseFull(t *testing.T) {
	p, err := Parse(readTestdata(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		SB               bool
		Kernel           string
		Ignore           []int
		Min, Enforce     string
		Interval, MaxAge time.Duration
		Unreachable      int
		NA               bool
		Roots, DB, DBX   int
		BootloaderSHA512 bool
		// The classes of a real Linux boot beside the kernel.
		Initrd, BootConfig, BootCommands string
	}{p.SecureBootRequired, p.References.Kernel[0].Label, p.PCRsIgnore, p.Bundles.MinAcceptance, p.Enforcement,
		p.Interval, p.VerdictMaxAge, p.UnreachableAfter, p.NAAllowed, len(p.Bundles.TrustedRoots),
		len(p.SecureBootVariables.DB), len(p.SecureBootVariables.DBXContains), p.References.Bootloader[0].SHA512 != "",
		p.References.Initrd[0].Label, p.References.BootConfig[0].Label, p.References.BootCommands[0].Label}
	want := got
	want.SB, want.Kernel, want.Ignore = true, "kernel 6.7.0-8169922", []int{10, 14}
	want.Min, want.Enforce, want.Interval, want.MaxAge = "accepted", "warn", time.Minute, 3*time.Minute
	want.Unreachable, want.NA, want.Roots, want.DB, want.DBX, want.BootloaderSHA512 = 5, true, 1, 1, 1, true
	want.Initrd, want.BootConfig, want.BootCommands = "/initrd.img-6.1.0-18-amd64", "(hd0,gpt1)/EFI/debian/grub.cfg", "grub_cmd: set timeout=0"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("full.yaml mismatch (-want +got):\n%s", diff)
	}
	roots, err := p.TrustedRootCerts()
	if err != nil || len(roots) != 1 || roots[0].Subject.CommonName != "Example Vendor Root" {
		t.Errorf("TrustedRootCerts() = %v, %v; want the Example Vendor Root", roots, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the error
	}{
		{"unknown key names its line", string(readTestdata(t, "unknown-key.yaml")), []string{"line 5", "lable"}},
		{"unknown top-level key", "secure_boot: true\n", []string{"line 1", "secure_boot"}},
		{"wrong type", "interval: often\n", []string{"line 1"}},
		{"not a mapping", "- a\n- b\n", []string{"line 1"}},
		{"empty", "", []string{"empty document"}},
		{"two documents", "interval: 1m\n---\ninterval: 2m\n", []string{"second YAML document"}},
		{"too large", strings.Repeat("#", MaxPolicyBytes+1), []string{"bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.input))
			wantParseError(t, err, tt.want)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p, err := Parse(readTestdata(t, "invalid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, w := range []string{
		"references.kernel[0].sha256",
		"references.firmware[0]: needs a sha256",
		"references.initrd[0].sha256",
		"references.boot_config[1]: needs a sha256",
		"references.boot_commands[0].sha256",
		"pcrs_ignore[0]: PCR 7 cannot be ignored",
		"pcrs_ignore[1]: PCR 30",
		"bundles.min_acceptance",
		"interval: 0s",
		"unreachable_after: 0",
		"enforcement: \"maybe\"",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() error lacks %q; got:\n%v", w, err)
		}
	}
}

func TestValidateTrustedRoots(t *testing.T) {
	tests := []struct {
		name, pem, want string
	}{
		{"not PEM", "hello", "no PEM certificate"},
		{"wrong block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "want CERTIFICATE"},
		{"bad DER", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			p.Bundles.TrustedRoots = []string{tt.pem}
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), "bundles.trusted_roots[0]") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want bundles.trusted_roots[0] ... %s", err, tt.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, file := range []string{"full.yaml", "minimal.yaml", "rules-debian.yaml", "perhost.yaml"} {
		t.Run(file, func(t *testing.T) {
			p, err := Parse(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse(Marshal()): %v\n%s", err, b)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

// TestCloneIsDeep checks that a clone shares no reference list with its
// original, in every class: learning into a clone must not change the
// group's stored policy.
func TestCloneIsDeep(t *testing.T) {
	for _, class := range Classes {
		t.Run(class, func(t *testing.T) {
			p := Default()
			*p.References.classPtr(class) = []Reference{{SHA256: hexOf('a', 32), Label: "original"}}
			c := p.Clone()
			refs := c.References.Class(class)
			if len(refs) != 1 {
				t.Fatalf("clone has %d %s references, want 1", len(refs), class)
			}
			refs[0].Label = "changed"
			if got := p.References.Class(class)[0].Label; got != "original" {
				t.Errorf("changing the clone's %s reference changed the original's label to %q", class, got)
			}
		})
	}
}
