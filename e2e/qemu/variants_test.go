package qemu

import (
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// change is one part of the learnt boot changed, and the verdict an
// operator must see for it: Failed, headed by code, with the headline check
// naming the changed part.
type change struct {
	what string // the boot, as the test log and the artefacts name it
	// esp builds the changed EFI system partition; it may skip the
	// subtest (t.Skip) when a part cannot be had here.
	esp func(t *testing.T) string
	// code is the headline's reason code (the host's reason_code).
	code string
	// pcr is the PCR the headline check must be about, 0 for any.
	pcr int
	// names must be in the headline check's component, notNames not
	// (the names a wrongly classed part would get).
	names    string
	notNames []string
}

// changes are the boots that differ from the learnt one in one part each.
// learnt is what the learnt boot's ESP holds, and kernelPkg its kernel's
// package.
func changes(dir string, learnt espParts, kernelPkg string) []change {
	withESP := func(name string, edit func(t *testing.T, p *espParts)) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := learnt
			edit(t, &p)
			out := filepath.Join(dir, name)
			buildESP(t, p, out)
			return out
		}
	}
	return []change{
		{what: "boot 3, kernel command line changed", code: "reference.boot_options", pcr: 8, names: "bootproof.changed=1",
			esp: withESP("esp-cmdline.img", func(_ *testing.T, p *espParts) { p.cmdlineExtra = "bootproof.changed=1" })},
		{what: "boot 4, another signed Debian kernel", code: "reference.kernel", names: "vmlinuz",
			notNames: []string{"boot loader", "without a file path"},
			esp: withESP("esp-kernel.img", func(t *testing.T, p *espParts) {
				other := otherKernelPackage(t, kernelPkg)
				if other == "" {
					t.Skipf("qemu: apt knows only one signed kernel (%s, from %s); apt-cache madison %s lists no other version, so another signed kernel cannot be booted here",
						kernelPkg, kernelMeta, kernelMeta)
				}
				p.k = fetchKernel(t, other)
				t.Logf("the other kernel: %s (signed, from %s)", p.k.version, other)
				p.initrd = buildInitramfs(t, p.k, dir, "initrd-"+p.k.version+".img", nil)
			})},
		{what: "boot 5, initramfs changed", code: "reference.initrd", pcr: 9, names: "/initrd.img", notNames: []string{"module"},
			esp: withESP("esp-initrd.img", func(t *testing.T, p *espParts) {
				p.initrd = buildInitramfs(t, p.k, dir, "initrd-changed.img",
					map[string]string{"etc/bootproof-variant": "a file the learnt initramfs does not have\n"})
			})},
		{what: "boot 6, grub.cfg changed, command line kept", code: "reference.boot_config", pcr: 9, names: "grub.cfg",
			esp: withESP("esp-grubcfg.img", func(_ *testing.T, p *espParts) { p.cfgExtra = "# bootproof: grub.cfg changed, no command changed" })},
	}
}

// judgeChange boots g with c's ESP and checks the verdict's headline: its
// code (as the host's reason_code and as Verdict.Headline picks it) and the
// component it names.
func (v *verifier) judgeChange(t *testing.T, dir string, g guest, c change) {
	g.esp = c.esp(t)
	v.bootAndJudge(t, dir, g, c.what)
	h := v.host(t, g.name)
	if h.Status != "Failed" || h.ReasonCode != c.code {
		t.Errorf("%s: %s (%s: %s), want Failed with %s", c.what, h.Status, h.ReasonCode, h.Reason, c.code)
	}
	checkNames(t, c, "the host's reason", h.Reason)
	vd := v.verdict(t, g.name)
	hc := vd.Headline()
	if hc == nil {
		t.Fatalf("%s: no failed check, want %s", c.what, c.code)
	}
	t.Logf("%s: headline check %s", c.what, describeCheck(*hc))
	if hc.Code != c.code {
		t.Errorf("%s: the headline check is %s, want %s; failed checks:\n%s", c.what, hc.Code, c.code, describeChecks(vd.Failures()))
	}
	if c.pcr != 0 && (hc.PCR == nil || *hc.PCR != c.pcr || hc.EventIndex == nil) {
		t.Errorf("%s: the headline check is not about a PCR %d event: %s", c.what, c.pcr, describeCheck(*hc))
	}
	checkNames(t, c, "the headline check's component", hc.Component)
}

// checkNames checks that what an operator reads (the host's reason, the
// headline check's component) names the changed part and not a wrong one.
func checkNames(t *testing.T, c change, where, text string) {
	t.Helper()
	if !strings.Contains(text, c.names) {
		t.Errorf("%s: %s %q does not name %q", c.what, where, text, c.names)
	}
	for _, n := range c.notNames {
		if strings.Contains(text, n) {
			t.Errorf("%s: %s %q names %q, the wrong part", c.what, where, text, n)
		}
	}
}

func describeCheck(c appraisal.Check) string {
	at := ""
	if c.PCR != nil {
		at += fmt.Sprintf(" PCR %d", *c.PCR)
	}
	if c.EventIndex != nil {
		at += fmt.Sprintf(" event #%d", *c.EventIndex)
	}
	return fmt.Sprintf("%s%s component %q: %s (found %s, expected one of %v)", c.Code, at, c.Component, c.Message, c.Found, c.Expected)
}

func describeChecks(cs []appraisal.Check) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + describeCheck(c) + "\n")
	}
	return b.String()
}

// stage is a part of the boot chain the Passed host must show with the
// subject of the certificate that verified it.
type stage struct {
	what      string // for messages
	class     string
	name      string // in the component's name
	authority string
}

// verifiedChain is the chain the guest boots, each image with the
// certificate that verified it: shim by Microsoft's UEFI CA in db, GRUB
// and the kernel by Debian's certificate built into shim.
var verifiedChain = []stage{
	{"shim", policy.ClassBootloader, `\EFI\BOOT\BOOTX64.EFI`, "Microsoft Corporation UEFI CA 2011"},
	{"GRUB", policy.ClassBootloader, `\EFI\BOOT\grubx64.efi`, "Debian Secure Boot CA"},
	{"the kernel", policy.ClassKernel, "vmlinuz", "Debian Secure Boot CA"},
}

// checkWhatBooted checks that a Passed host shows what booted: GET
// /api/v1/hosts/NAME lists shim, GRUB and the kernel with their classes
// and verifying authorities, and the host's web page names each of them
// with its authority beside it.
func (v *verifier) checkWhatBooted(t *testing.T, name string) {
	t.Helper()
	h := v.host(t, name)
	if h.Verdict == nil {
		t.Fatalf("GET /api/v1/hosts/%s has no verdict", name)
	}
	for _, s := range verifiedChain {
		if !hasStage(h.Verdict.Components, s) {
			t.Errorf("GET /api/v1/hosts/%s: no %s component named %q verified by %q (%s); components:\n%s",
				name, s.class, s.name, s.authority, s.what, describeComponents(h.Verdict.Components))
		}
	}
	page := pageText(v.page(t, "/hosts/"+name))
	for _, s := range verifiedChain {
		if !nearEachOther(page, s, verifiedChain) {
			t.Errorf("the page of %s does not name %s (%q) with its authority %q beside it", name, s.what, s.name, s.authority)
		}
	}
	if t.Failed() {
		t.Logf("the page of %s, as text:\n%s", name, page)
	}
}

func hasStage(cs policy.Components, s stage) bool {
	for _, c := range cs.Class(s.class) {
		if strings.Contains(c.Name, s.name) && c.Authority == s.authority {
			return true
		}
	}
	return false
}

func describeComponents(cs policy.Components) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s PCR %d #%d %q authority %q judged %v reference %q\n",
			c.Class, c.PCR, c.EventIndex, c.Name, c.Authority, c.Judged, c.Reference)
	}
	return b.String()
}

var (
	tags   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	blanks = regexp.MustCompile(`\s+`)
)

// pageText is a page's text as a reader sees it: no markup, one space
// between words.
func pageText(body string) string {
	return strings.TrimSpace(blanks.ReplaceAllString(html.UnescapeString(tags.ReplaceAllString(body, " ")), " "))
}

// nearWindow is how much text after a component's name may separate it
// from its authority: a table row's digests and class.
const nearWindow = 400

// nearEachOther reports whether some mention of s's name in text is
// followed by its authority within nearWindow characters and before the
// next mention of another stage of chain (whose authority it would be).
func nearEachOther(text string, s stage, chain []stage) bool {
	for rest := text; ; {
		i := strings.Index(rest, s.name)
		if i < 0 {
			return false
		}
		rest = rest[i+len(s.name):]
		window := rest[:min(len(rest), nearWindow)]
		for _, o := range chain {
			if j := strings.Index(window, o.name); o.name != s.name && j >= 0 {
				window = window[:j]
			}
		}
		if strings.Contains(window, s.authority) {
			return true
		}
	}
}

// TestNearEachOther checks the page reading of checkWhatBooted on pages
// it must accept and refuse: an authority counts only in the text after
// its own component, before the next component's.
func TestNearEachOther(t *testing.T) {
	row := func(name, authority string) string {
		return `<tr><td>bootloader</td><td><code>` + html.EscapeString(name) + `</code></td><td>sha256:` +
			strings.Repeat("ab", 32) + `</td><td>` + authority + `</td></tr>`
	}
	shim, grub, kernel := verifiedChain[0], verifiedChain[1], verifiedChain[2]
	tests := []struct {
		name string
		page string
		s    stage
		want bool
	}{
		{"own row", row(shim.name, shim.authority), shim, true},
		{"another authority", row(shim.name, grub.authority), shim, false},
		{"no authority, the next row's", row(grub.name, "") + row(kernel.name, kernel.authority), grub, false},
		{"second mention has it", `<p>` + kernel.name + `</p>` + row(kernel.name, kernel.authority), kernel, true},
		{"too far", row(shim.name, strings.Repeat("x ", nearWindow)+shim.authority), shim, false},
		{"not named", row("other.efi", shim.authority), shim, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearEachOther(pageText(tt.page), tt.s, verifiedChain); got != tt.want {
				t.Errorf("nearEachOther(%q, %s) = %v, want %v", pageText(tt.page), tt.s.what, got, tt.want)
			}
		})
	}
}
