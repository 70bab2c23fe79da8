package appraisal

import (
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// The certificates that verified the real Debian boot of e2e/qemu
// (testdata/debian-qemu): shim by Microsoft's UEFI CA in db, GRUB and the
// kernel by the Debian Secure Boot CA built into shim.
var (
	msUEFICA = policy.Certificate{SHA256: "48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507", Subject: "Microsoft Corporation UEFI CA 2011"}
	debianCA = policy.Certificate{SHA256: "079646974bce09b1f04da67bd722d1fb0947ae4c4010bccdbba52d5b23cbf1a2", Subject: "Debian Secure Boot CA"}
)

// debianKernelImage is the SHA-256 Authenticode digest of the signed
// Debian kernel that boot measured (its PCR 4 image events).
const debianKernelImage = "65c89335d8a5d25a8eeffd4de4a02087ac8dcf26165dbff8806a19f68ecd2842"

// debianSigners is a Debian fleet's signer policy: shim by Microsoft,
// GRUB by Debian, kernels by Debian, SBAT shim and grub at least 4.
func debianSigners(p *policy.Policy) {
	p.Signers = policy.SignerRules{
		policy.ClassBootloader: {Certificates: []policy.Certificate{msUEFICA, debianCA}},
		policy.ClassKernel:     {Certificates: []policy.Certificate{debianCA}},
	}
	p.SbatMinimum = policy.SbatMinimum{"shim": 4, "grub": 4}
}

// appraiseDebianWith appraises a real Debian boot under the corpus policy
// as edit changes it.
func appraiseDebianWith(t *testing.T, name string, edit func(p *policy.Policy)) *Verdict {
	t.Helper()
	c := debianQEMU(t, name)
	log, err := eventlog.Parse(c.Log)
	if err != nil {
		t.Fatal(err)
	}
	p := corpusPolicy(log, c)
	edit(p)
	ak := newSoftwareAK(t)
	v, err := Appraise(Input{Evidence: corpusEvidence(t, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignerRulesDebianQEMU judges the real Debian shim + GRUB boot by
// who signed it, with no reference digest: what passes it, what fails it
// and what the headline check says.
func TestSignerRulesDebianQEMU(t *testing.T) {
	tests := []struct {
		name string
		boot string
		edit func(p *policy.Policy)
		// code is the headline, "" for Passed; says must be in its
		// message, component in its component.
		code, says, component string
	}{
		{"Debian's signers pass the boot", "sb-on", debianSigners, "", "", ""},
		{"a kernel signer the boot did not use", "sb-on", func(p *policy.Policy) {
			debianSigners(p)
			p.Signers[policy.ClassKernel] = policy.SignerRule{Certificates: []policy.Certificate{msUEFICA}}
		}, CodeRefKernel, "was verified by Debian Secure Boot CA (" + debianCA.SHA256 + "), which the kernel signer rule does not list", "/vmlinuz"},
		{"a denied kernel fails though Debian signed it", "sb-on", func(p *policy.Policy) {
			debianSigners(p)
			p.Signers[policy.ClassKernel] = policy.SignerRule{Certificates: []policy.Certificate{debianCA},
				Deny: []policy.Denied{{Reference: policy.Reference{SHA256: debianKernelImage, Label: "linux 6.x, known bad"}}}}
		}, CodeRefDenied, "linux 6.x, known bad", "/vmlinuz (EFI image)"},
		{"deny wins over an exact reference", "sb-on", func(p *policy.Policy) {
			debianSigners(p)
			p.References.Kernel = []policy.Reference{{SHA256: debianKernelImage, Label: "the kernel"}}
			p.Signers[policy.ClassKernel] = policy.SignerRule{Certificates: []policy.Certificate{debianCA},
				Deny: []policy.Denied{{Reference: policy.Reference{SHA256: debianKernelImage, Label: "recalled"}}}}
		}, CodeRefDenied, "recalled", "/vmlinuz (EFI image)"},
		{"SbatLevel below the minimum", "sb-on", func(p *policy.Policy) {
			debianSigners(p)
			p.SbatMinimum["grub"] = 6
		}, CodeSecureBootSbatLevel, "revokes grub only below generation 5; the policy wants 6", "grub"},
		{"SbatLevel without the component", "sb-on", func(p *policy.Policy) {
			debianSigners(p)
			p.SbatMinimum["grub.debian"] = 1
		}, CodeSecureBootSbatLevel, "revokes no generation of grub.debian", "grub.debian"},
		{"Secure Boot off: no authority", "sb-off", func(p *policy.Policy) {
			p.Signers = policy.SignerRules{policy.ClassBootloader: {Certificates: []policy.Certificate{msUEFICA, debianCA}}}
		}, CodeRefBootloader, "verified by no certificate the log shows", `\EFI\BOOT\BOOTX64.EFI`},
		{"Secure Boot off: SbatLevel of 2021", "sb-off", func(p *policy.Policy) { p.SbatMinimum = policy.SbatMinimum{"shim": 4} },
			CodeSecureBootSbatLevel, "revokes no generation of shim", "shim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := appraiseDebianWith(t, tt.boot, tt.edit)
			h := v.Headline()
			if tt.code == "" {
				if v.Status != Passed {
					t.Fatalf("status %s, want Passed; failures:\n%s", v.Status, describeFailures(v))
				}
				return
			}
			if v.Status != Failed || h == nil || h.Code != tt.code {
				t.Fatalf("status %s headline %+v, want Failed headed by %s; failures:\n%s", v.Status, h, tt.code, describeFailures(v))
			}
			if !strings.Contains(h.Message, tt.says) || !strings.Contains(h.Component, tt.component) {
				t.Errorf("headline %q about %q, want it to say %q about %q", h.Message, h.Component, tt.says, tt.component)
			}
			for _, c := range v.Components {
				if h.EventIndex != nil && c.EventIndex == *h.EventIndex && (c.Reference != "" || !c.Judged) {
					t.Errorf("the failed %s %q shows judged %v, matched %q", c.Class, c.Name, c.Judged, c.Reference)
				}
			}
		})
	}
}

// TestSignerRulesSayWhatMatched checks the "matched: ..." a Passed
// Debian boot shows for each image and the kernel file GRUB read: the
// certificate, that it was the signer rule, and an inferred authority as
// inferred.
func TestSignerRulesSayWhatMatched(t *testing.T) {
	v := appraiseDebianWith(t, "sb-on", debianSigners)
	want := map[string]string{
		`\EFI\BOOT\BOOTX64.EFI`: "signed by Microsoft Corporation UEFI CA 2011 (signer rule)",
		`\EFI\BOOT\grubx64.efi`: "signed by Debian Secure Boot CA (signer rule)",
		"/vmlinuz (EFI image)":  "signed by Debian Secure Boot CA (signer rule; authority inferred)",
		"/vmlinuz":              "read by the boot loader, then run as the image of event #",
	}
	seen := 0
	for _, c := range v.Components {
		w, ok := want[c.Name]
		if !ok || (c.Class != policy.ClassBootloader && c.Class != policy.ClassKernel) {
			continue
		}
		seen++
		if !c.Judged || !strings.Contains(c.Reference, w) {
			t.Errorf("%s %q: judged %v, reference %q; want judged, %q", c.Class, c.Name, c.Judged, c.Reference, w)
		}
	}
	if seen != 5 { // shim, GRUB, the kernel file and its two image events
		t.Errorf("%d boot loaders and kernels, want 5:\n%s", seen, describeFailures(v))
	}
}

// TestParseSbatLevel reads SbatLevel texts as shim measures them.
func TestParseSbatLevel(t *testing.T) {
	tests := []struct {
		text string
		want map[string]int
	}{
		{"sbat,1,2025021800\nshim,4\ngrub,5\n", map[string]int{"shim": 4, "grub": 5}},
		{"sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\n", map[string]int{"shim": 2, "grub": 3, "grub.debian": 4}},
		{"sbat,1,2021030218\n", map[string]int{}},
		{"", map[string]int{}},
		{"grub,five\nshim\n", map[string]int{}},
	}
	for _, tt := range tests {
		got := parseSbatLevel(tt.text)
		if len(got) != len(tt.want) {
			t.Errorf("parseSbatLevel(%q) = %v, want %v", tt.text, got, tt.want)
		}
		for k, g := range tt.want {
			if got[k] != g {
				t.Errorf("parseSbatLevel(%q)[%s] = %d, want %d", tt.text, k, got[k], g)
			}
		}
	}
}

func describeFailures(v *Verdict) string {
	var b strings.Builder
	for _, c := range v.Failures() {
		b.WriteString("  " + c.Code + " " + c.Component + ": " + c.Message + "\n")
	}
	return b.String()
}
