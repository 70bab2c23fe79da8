package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const debianCA = "079646974bce09b1f04da67bd722d1fb0947ae4c4010bccdbba52d5b23cbf1a2"

// TestParseRules reads the worked Debian example of docs/policy.md: its
// signer rules, SBAT minimum and command-line rules, and checks that
// Clone copies them (TestMarshalRoundTrip: Marshal keeps them).
func TestParseRules(t *testing.T) {
	p, err := Parse(readTestdata(t, "rules-debian.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	k := p.Signers.Rule(ClassKernel)
	if k == nil || len(k.Certificates) != 1 || k.Certificates[0].SHA256 != debianCA || k.Certificates[0].Subject != "Debian Secure Boot CA" {
		t.Errorf("kernel signer rule %+v, want the Debian Secure Boot CA", k)
	}
	if k != nil && (len(k.Deny) != 1 || k.Deny[0].Label != "linux 6.1.0-x, known bad") {
		t.Errorf("kernel deny list %+v", k.Deny)
	}
	if got := p.Signers.Rule(ClassBootloader); got == nil || len(got.Certificates) != 2 {
		t.Errorf("bootloader signer rule %+v, want two certificates", got)
	}
	if p.Signers.Rule(ClassInitrd) != nil {
		t.Error("an initrd signer rule out of nothing")
	}
	if diff := cmp.Diff(SbatMinimum{"shim": 4, "grub": 4}, p.SbatMinimum); diff != "" {
		t.Errorf("sbat_minimum (-want +got):\n%s", diff)
	}
	want := CmdlineRules{Required: []string{"lockdown=integrity"}, Forbidden: []string{"init=", "rd.break", "single", "systemd.debug_shell"}, PerHost: []string{"root=", "resume="}}
	if diff := cmp.Diff(want, p.Cmdline); diff != "" {
		t.Errorf("cmdline (-want +got):\n%s", diff)
	}
	c := p.Clone()
	if diff := cmp.Diff(p, c); diff != "" {
		t.Errorf("Clone (-want +got):\n%s", diff)
	}
	c.Signers[ClassKernel].Certificates[0].SHA256 = "changed"
	c.SbatMinimum["grub"] = 9
	c.Cmdline.Forbidden[0] = "changed"
	if p.Signers[ClassKernel].Certificates[0].SHA256 != debianCA || p.SbatMinimum["grub"] != 4 || p.Cmdline.Forbidden[0] != "init=" {
		t.Error("changing a clone's rules changed the original")
	}
}

// TestParseRulesErrors checks that a mistake in the rules is refused by
// Parse with its line and what is wrong.
func TestParseRulesErrors(t *testing.T) {
	const cert = "      - sha256: " + debianCA + "\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad fingerprint", "signers:\n  kernel:\n    certificates:\n      - sha256: 07964697\n        subject: Debian\n",
			[]string{"line 4", "certificate", "fingerprint", "want 32"}},
		{"uppercase fingerprint", "signers:\n  kernel:\n    certificates:\n      - sha256: " + strings.ToUpper(debianCA) + "\n",
			[]string{"line 4", "lowercase hex"}},
		{"unknown class", "interval: 5m\nsigners:\n  initrd:\n    certificates:\n" + cert,
			[]string{"line 3", `"initrd" is not a class of signed images`, "bootloader and kernel"}},
		{"no certificate", "signers:\n  kernel:\n    deny:\n      - sha256: " + debianCA + "\n",
			[]string{"line 2", "lists no certificate"}},
		{"unknown key in a rule", "signers:\n  kernel:\n    certificate:\n" + cert,
			[]string{"line 3", `unknown key "certificate"`}},
		{"unknown key in a certificate", "signers:\n  kernel:\n    certificates:\n      - sha256: " + debianCA + "\n        fingerprint: x\n",
			[]string{"line 5", `unknown key "fingerprint"`}},
		{"deny entry without a digest", "signers:\n  kernel:\n    certificates:\n" + cert + "    deny:\n      - label: bad kernel\n",
			[]string{"line 6", "deny entry", "needs a sha256"}},
		{"SBAT header as a component", "sbat_minimum:\n  sbat: 2\n", []string{"line 2", "header line"}},
		{"SBAT generation not a number", "sbat_minimum:\n  shim: 4\n  grub: four\n", []string{"line 3", `"four" is not a generation`}},
		{"SBAT generation zero", "sbat_minimum:\n  grub: 0\n", []string{"line 2", "generation 0, want 1 or more"}},
		{"SBAT component name", "sbat_minimum:\n  \"grub,5\": 5\n", []string{"line 2", "not an SBAT component name"}},
		{"SBAT as a list", "sbat_minimum:\n  - grub: 4\n", []string{"line 2", "want a map"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			wantParseError(t, err, tt.want)
		})
	}
}

// TestValidateRules checks the rules of a policy built in code (the API's
// JSON, a Go caller), which no YAML line names: each error names its key.
func TestValidateRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Policy)
		want string
	}{
		{"unknown class", func(p *Policy) {
			p.Signers = SignerRules{"firmware": {Certificates: []Certificate{{SHA256: debianCA}}}}
		},
			`signers.firmware: signers: "firmware" is not a class of signed images`},
		{"bad fingerprint", func(p *Policy) { p.Signers = SignerRules{"kernel": {Certificates: []Certificate{{SHA256: "ab"}}}} },
			"signers.kernel.certificates[0]: sha256 is the certificate's SHA-256 fingerprint"},
		{"deny without a strong digest", func(p *Policy) {
			p.Signers = SignerRules{"kernel": {Certificates: []Certificate{{SHA256: debianCA}}, Deny: []Denied{{Reference{SHA1: strings.Repeat("1", 40)}}}}}
		}, "signers.kernel.deny[0]: needs a sha256"},
		{"SBAT generation", func(p *Policy) { p.SbatMinimum = SbatMinimum{"grub": -1} }, "sbat_minimum.grub: generation -1"},
		{"empty pattern", func(p *Policy) { p.Cmdline.Forbidden = []string{"init=", ""} }, "cmdline.forbidden[1]"},
		{"pattern with a space", func(p *Policy) { p.Cmdline.Required = []string{"lockdown=integrity quiet"} }, "cmdline.required[0]"},
		{"per-host without =", func(p *Policy) { p.Cmdline.PerHost = []string{"root"} }, "cmdline.per_host[0]: \"root\", want an argument name ending in '='"},
		{"required and forbidden", func(p *Policy) { p.Cmdline.Required, p.Cmdline.Forbidden = []string{"single"}, []string{"single"} },
			`cmdline.forbidden[0]: "single" is also required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.edit(p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// wantParseError requires an error that says each of want.
func wantParseError(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Parse() = nil error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse() error %q, want it to contain %q", err, w)
		}
	}
}
