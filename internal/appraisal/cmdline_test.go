package appraisal

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// TestCmdlineArgs splits command lines as the classes name them: GRUB's
// strings lose their prefix and the kernel's path, quoted values stay
// one argument.
func TestCmdlineArgs(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"kernel_cmdline: /vmlinuz console=ttyS0 panic=-1", []string{"console=ttyS0", "panic=-1"}},
		{"grub_kernel_cmdline (hd2,gpt2)/vmlinuz-5.3 root=UUID=f6af ro quiet", []string{"root=UUID=f6af", "ro", "quiet"}},
		{"kernel_cmdline: /vmlinuz", []string{}},
		{`kernel_cmdline: /k root=/dev/dm-0 "dm=1 vroot none ro" init=/bin/sh`, []string{"root=/dev/dm-0", `"dm=1 vroot none ro"`, "init=/bin/sh"}},
		{"initrd=\\initrd.img root=/dev/sda2  quiet", []string{`initrd=\initrd.img`, "root=/dev/sda2", "quiet"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, cmdlineArgs(tt.text)); diff != "" {
			t.Errorf("cmdlineArgs(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}

// TestArgMatches checks the four kinds of pattern.
func TestArgMatches(t *testing.T) {
	tests := []struct {
		pattern, arg string
		want         bool
	}{
		{"init=", "init=/bin/sh", true},
		{"init=", "init", false},
		{"init=", "rdinit=/bin/sh", false},
		{"single", "single", true},
		{"single", "single=1", true},
		{"single", "singlestep", false},
		{"rd.break", "rd.break=pre-mount", true},
		{"lockdown=integrity", "lockdown=integrity", true},
		{"lockdown=integrity", "lockdown=confidentiality", false},
		{"systemd.debug*", "systemd.debug_shell=tty9", true},
		{"systemd.debug*", "systemd.unit=rescue.target", false},
	}
	for _, tt := range tests {
		if got := argMatches(tt.pattern, tt.arg); got != tt.want {
			t.Errorf("argMatches(%q, %q) = %v, want %v", tt.pattern, tt.arg, got, tt.want)
		}
	}
}

// cmdline is a proven GRUB command line component with a digest of its
// own text, as GRUB measures it into PCR 8.
func cmdline(idx int, text string, proven bool) policy.Component {
	return policy.Component{Class: policy.ClassBootOptions, Name: text, NameProven: proven, PCR: 8, EventIndex: idx,
		Digests: map[string]string{"sha256": sha256Of(text)}}
}

// TestCmdlineRulesJudge judges crafted command lines of several hosts of
// one group: root= per host and init= forbidden pass two hosts with
// different roots, with or without a learnt reference, and fail the one
// booted with init=/bin/sh, with the headline naming it.
func TestCmdlineRulesJudge(t *testing.T) {
	const (
		hostA = "kernel_cmdline: /vmlinuz root=UUID=aaaa ro quiet lockdown=integrity"
		hostB = "kernel_cmdline: /vmlinuz root=UUID=bbbb ro quiet lockdown=integrity"
		shell = "kernel_cmdline: /vmlinuz root=UUID=cccc ro quiet lockdown=integrity init=/bin/sh"
		noLck = "kernel_cmdline: /vmlinuz root=UUID=bbbb ro quiet"
		extra = "kernel_cmdline: /vmlinuz root=UUID=bbbb ro lockdown=integrity"
	)
	rules := policy.CmdlineRules{Required: []string{"lockdown=integrity"}, Forbidden: []string{"init=", "single"}, PerHost: []string{"root=", "resume="}}
	learnt := []policy.Reference{{SHA256: sha256Of(hostA), Label: hostA}}
	tests := []struct {
		name      string
		refs      []policy.Reference
		boot      policy.Component
		code      string // headline, "" for Passed
		names     string // in the headline's message, or the component's Reference when Passed
		component string
	}{
		{"host A, no references", nil, cmdline(3, hostA, true), "", "satisfies the command-line rules", ""},
		{"host B, no references", nil, cmdline(3, hostB, true), "", "satisfies the command-line rules", ""},
		{"init=/bin/sh, no references", nil, cmdline(3, shell, true), CodeCmdlineForbidden, "init=/bin/sh, which the policy forbids (init=)", "init=/bin/sh"},
		{"lockdown missing", nil, cmdline(3, noLck, true), CodeCmdlineRequired, "lacks lockdown=integrity", "root=UUID=bbbb"},
		{"host A, its own reference", learnt, cmdline(3, hostA, true), "", hostA, ""},
		{"host B, host A's reference with root= per host", learnt, cmdline(3, hostB, true), "", "root=, resume= per host (command-line rules)", ""},
		{"init=/bin/sh heads a changed command line", learnt, cmdline(3, shell, true), CodeCmdlineForbidden, "init=/bin/sh", "init=/bin/sh"},
		{"another argument changed", learnt, cmdline(3, extra, true), CodeRefBootOptions, "not among the policy's reference values", "ro lockdown"},
		{"unproven text", nil, cmdline(3, hostA, false), CodeCmdlineUnproven, "not proven text", UnprovenLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			p.Cmdline, p.References.BootOptions = rules, tt.refs
			a := &appraisal{in: Input{Policy: p}, v: &Verdict{Status: Passed, Bank: "sha256", Components: policy.Components{tt.boot}}}
			a.checkCmdline(nil)
			a.checkReferences()
			h := a.v.Headline()
			c := a.v.Components[0]
			if tt.code == "" {
				if h != nil || !c.Judged || !strings.Contains(c.Reference, tt.names) {
					t.Fatalf("headline %+v, judged %v, reference %q; want Passed, matched %q", h, c.Judged, c.Reference, tt.names)
				}
				return
			}
			if h == nil || h.Code != tt.code || !strings.Contains(h.Message, tt.names) || !strings.Contains(h.Component, tt.component) {
				t.Fatalf("headline %+v; want %s saying %q about %q", h, tt.code, tt.names, tt.component)
			}
			if c.Reference != "" {
				t.Errorf("a failed command line shows matched %q", c.Reference)
			}
		})
	}
}

// TestCmdlineRulesNothingMeasured fails a boot without a command line
// when the group has command-line rules: nothing shows the rules hold.
func TestCmdlineRulesNothingMeasured(t *testing.T) {
	p := policy.Default()
	p.Cmdline.Forbidden = []string{"init="}
	a := &appraisal{in: Input{Policy: p}, v: &Verdict{Status: Passed}}
	a.checkCmdline(nil)
	if h := a.v.Headline(); h == nil || h.Code != CodeCmdlineUnproven || !strings.Contains(h.Message, "measured no kernel command line") {
		t.Errorf("headline %+v, want %s: no command line measured", h, CodeCmdlineUnproven)
	}
}

// TestCmdlineRulesCorpus applies command-line rules to real command lines
// of the corpus, as GRUB measured them: the kernel's path is no argument,
// a quoted dm= table is one argument, and a failure names the argument.
func TestCmdlineRulesCorpus(t *testing.T) {
	tests := []struct {
		name      string
		rules     policy.CmdlineRules
		wantCodes []string
		wantFound []string
	}{
		// Fedora 31: root= and resume= per host, nothing forbidden found.
		{"fwupd/binary-bios-measurements-v1", policy.CmdlineRules{Required: []string{"ro", "root="}, Forbidden: []string{"init=", "single", "rd.break", "vmlinuz*", "(hd2*"}}, nil, nil},
		// Container-Optimized OS starts systemd with init=; "verity" is
		// inside the quoted dm= table, not an argument.
		{"go-tpm-tools/cos-85-amd-sev", policy.CmdlineRules{Required: []string{"module.sig_enforce=1"}, Forbidden: []string{"init=", "verity", "none"}},
			[]string{CodeCmdlineForbidden}, []string{"init=/usr/lib/systemd/systemd"}},
		{"go-tpm-tools/ubuntu-1804-amd-sev", policy.CmdlineRules{Required: []string{"lockdown=integrity", "console="}},
			[]string{CodeCmdlineRequired}, []string{"root=LABEL=cloudimg-rootfs ro console=ttyS0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := corpusLog(t, tt.name)
			var codes, found []string
			n := 0
			for i := range log.Events {
				e := &log.Events[i]
				if class, name := classify(e); class == policy.ClassBootOptions && e.PCR == 8 {
					n++
					c := policy.Component{Class: class, Name: name, NameProven: nameBound(e), EventIndex: e.Index}
					full := fullCmdlines(log.Events, policy.Components{c})[e.Index]
					for _, f := range cmdlineFailures(tt.rules, c, full) {
						codes, found = append(codes, f.Code), append(found, f.Found)
					}
				}
			}
			if n == 0 {
				t.Fatal("no GRUB command line in the log")
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("failed codes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFound, found); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
		})
	}
}

func sha256Of(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// corpusLog is the parsed event log of one corpus case; the test is
// skipped when this corpus lacks it.
func corpusLog(t *testing.T, name string) *eventlog.Log {
	t.Helper()
	for _, c := range corpus.Cases(t) {
		if c.Name != name {
			continue
		}
		log, err := eventlog.Parse(c.Log)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return log
	}
	t.Skipf("%s is not in this corpus", name)
	return nil
}
