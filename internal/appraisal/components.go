package appraisal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// maxNameLen bounds a component name taken from event data.
const maxNameLen = 256

// extractComponents classifies the proven events into components. Only the
// digests are proven; names come from event data and are labels only. The
// rules are those of real firmware, shim and GRUB and of the emulated boot
// chain (classifyEmulated):
//
//   - firmware: PCR 0 measurements other than separators (CRTM version and
//     contents, firmware blobs, POST code);
//   - boot loader: PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION images that are
//     not kernels (shim, GRUB, systemd-boot, vmkboot), see bootChain;
//   - kernel: the PCR 4 images bootChain finds to be kernels (shim's
//     verification of the kernel GRUB loads, a UKI, a kernel booted by its
//     EFI stub), and the file GRUB's `linux` command reads into PCR 9, or
//     a PCR 9 file named vmlinuz*, vmlinux*, bzImage* (Red Hat's GRUB:
//     "grub_linuxefi Kernel");
//   - boot options: GRUB's kernel command line strings in PCR 8, the command
//     line systemd-stub measures into PCR 12;
//   - modules: initrd*/initramfs* files in PCR 9 ("grub_linuxefi Initrd").
//
// A name is proven only where the event's digest binds the data it is read
// from (datadigest.go); an event whose data does not match its digest
// (lying) keeps its proven digests but loses its name.
func extractComponents(events []eventlog.Event, proven func(idx int) []eventlog.Alg, lying map[int]bool, auths []uefi.Authority) policy.Components {
	var out policy.Components
	chain := readBootChain(events, auths)
	for i := range events {
		e := &events[i]
		class, name := classifyEmulated(e)
		if class == "" {
			class, name = classify(e)
		}
		switch {
		case isImage(e):
			class, name = chain.class(e, name)
		case chain.kernelFiles[e.Index]:
			class = policy.ClassKernel
			name = text(e.Data)
		}
		if class == "" {
			continue
		}
		c := policy.Component{Class: class, Name: name, NameProven: nameBound(e), PCR: e.PCR, EventIndex: e.Index, Digests: map[string]string{}}
		c.Authority, c.AuthoritySHA256 = authorityNames(chain.authority[e.Index])
		if lying[e.Index] {
			c.Name, c.NameProven = "", false
		}
		for _, bank := range proven(e.Index) {
			if d, ok := e.Digest(bank); ok {
				c.Digests[bank.String()] = hex.EncodeToString(d)
			}
		}
		out = append(out, c)
	}
	return out
}

// classify applies the rules of real firmware, shim and GRUB. GRUB's
// strings differ by distribution: upstream 2.06 logs "kernel_cmdline: " and
// the file path of each file in PCR 9; Red Hat's linuxefi logs
// "grub_kernel_cmdline " and "grub_linuxefi Kernel" / "grub_linuxefi Initrd".
func classify(e *eventlog.Event) (class, name string) {
	switch {
	case e.PCR == 0 && e.Type != eventlog.EvSeparator:
		return policy.ClassFirmware, firmwareName(e)
	case e.PCR == 4 && e.Type == eventlog.EvEFIBootServicesApplication:
		if p := imagePath(e.Data); p != "" {
			return policy.ClassBootloader, p
		}
		// Loaded from memory (a kernel's EFI stub through LoadImage).
		return policy.ClassBootloader, "EFI application without a file path"
	case e.Type != eventlog.EvIPL:
		return "", ""
	case e.PCR == 8 && (bytes.HasPrefix(e.Data, []byte("kernel_cmdline: ")) || bytes.HasPrefix(e.Data, []byte("grub_kernel_cmdline "))):
		return policy.ClassBootOptions, text(e.Data)
	case e.PCR == 12:
		return policy.ClassBootOptions, strings.TrimSpace(utf16Text(e.Data))
	case e.PCR == 9:
		p := text(e.Data)
		base := path.Base(p)
		switch {
		case p == "grub_linuxefi Kernel" || hasAnyPrefix(base, "vmlinuz", "vmlinux", "bzImage"):
			return policy.ClassKernel, p
		case p == "grub_linuxefi Initrd" || hasAnyPrefix(base, "initrd", "initramfs"):
			return policy.ClassModules, p
		}
	}
	return "", ""
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// firmwareName names a PCR 0 event by its type and, where its data is text
// (CRTM version in UTF-16, blob descriptions), that text.
func firmwareName(e *eventlog.Event) string {
	n := e.Type.String()
	var t string
	switch e.Type {
	case eventlog.EvSCRTMVersion:
		t = utf16Text(e.Data)
	case eventlog.EvEFIPlatformFirmwareBlob2:
		// UEFI_PLATFORM_FIRMWARE_BLOB2: BlobDescriptionSize (1) then text.
		if len(e.Data) > 0 && int(e.Data[0]) < len(e.Data) {
			t = text(e.Data[1 : 1+int(e.Data[0])])
		}
	case eventlog.EvPostCode, eventlog.EvSCRTMContents, eventlog.EvEventTag, eventlog.EvIPL:
		if printable(e.Data) {
			t = text(e.Data)
		}
	}
	if t != "" {
		return clip(n + " " + t)
	}
	return n
}

// imagePath reads the file path of a UEFI_IMAGE_LOAD_EVENT (PFP §10.2.3):
// four UINT64s (location, length, link-time address, device path length)
// then the device path, whose media file path nodes (type 4, subtype 4) hold
// the path in UTF-16. It returns "" when there is none.
func imagePath(d []byte) string {
	if len(d) < 32 {
		return ""
	}
	n := binary.LittleEndian.Uint64(d[24:32])
	dp := d[32:]
	if n < uint64(len(dp)) {
		dp = dp[:n]
	}
	var parts []string
	for len(dp) >= 4 {
		typ, sub, l := dp[0], dp[1], int(binary.LittleEndian.Uint16(dp[2:4]))
		if l < 4 || l > len(dp) {
			break
		}
		if typ == 0x7f { // end of device path
			break
		}
		if typ == 4 && sub == 4 {
			parts = append(parts, utf16Text(dp[4:l]))
		}
		dp = dp[l:]
	}
	return clip(strings.Join(parts, ""))
}

// text makes event data a printable label.
func text(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	return clip(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, s))
}

func printable(b []byte) bool {
	b = []byte(strings.TrimRight(string(b), "\x00"))
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// utf16Text reads little-endian UTF-16 up to its NUL.
func utf16Text(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return text([]byte(string(utf16.Decode(u))))
}

func clip(s string) string {
	if len(s) <= maxNameLen {
		return s
	}
	n := maxNameLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // cut on a character boundary
	}
	return s[:n] + "…"
}

// checkReferences compares every component with its class's reference
// values. A class without reference values is not constrained.
func (a *appraisal) checkReferences() {
	p := a.in.Policy
	for _, class := range policy.Classes {
		code := referenceCodes[class]
		refs := p.References.Class(class)
		comps := a.v.Components.Class(class)
		if len(refs) == 0 {
			a.pass(code, "The policy sets no reference values for "+classPlural[class]+".")
			continue
		}
		if len(comps) == 0 {
			// A boot that measured none of a class the group pins did not
			// run what the group expects (a halted or diverted boot).
			a.fail(Check{Code: code, Bank: a.v.Bank, Expected: refStrings(refs), Found: "nothing measured",
				Message: "The boot measured no " + classSingular(class) + ", but the policy has reference values for " + classPlural[class] + "."})
			continue
		}
		for _, c := range comps {
			if _, ok, _ := p.Match(c); ok {
				continue
			}
			want := refStrings(refs)
			a.fail(Check{Code: code, Bank: a.v.Bank, PCR: intp(c.PCR), EventIndex: intp(c.EventIndex), Component: shownName(c),
				Message:  "The " + classNoun(class) + " " + quoteName(c.Name) + unprovenNote(c) + verb(class) + " not among the policy's reference values.",
				Expected: want, Found: c.Digests[a.v.Bank]})
		}
		a.pass(code, "All measured "+classPlural[class]+" are among the policy's reference values.")
	}
}

func refStrings(refs []policy.Reference) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out
}

// classSingular names one component of a class, for "measured no ...".
func classSingular(class string) string {
	if class == policy.ClassFirmware {
		return "firmware"
	}
	return classNoun(class)
}

var classPlural = map[string]string{
	policy.ClassFirmware:    "firmware components",
	policy.ClassBootloader:  "boot loaders",
	policy.ClassKernel:      "kernels",
	policy.ClassBootOptions: "boot options",
	policy.ClassModules:     "modules",
}

func classNoun(class string) string {
	switch class {
	case policy.ClassBootloader:
		return "boot loader"
	case policy.ClassBootOptions:
		return "boot options"
	case policy.ClassModules:
		return "module"
	}
	return class
}

// verb agrees with a class noun: the boot options are, the kernel is.
func verb(class string) string {
	if class == policy.ClassBootOptions {
		return " are"
	}
	return " is"
}

// UnprovenLabel marks a name the event's digest does not prove, wherever a
// verdict shows it: the host could have written anything there.
const UnprovenLabel = "label from the host, unproven"

// shownName is a component's name as a verdict shows it: marked when the
// digest does not prove it.
func shownName(c policy.Component) string {
	return c.Name + unprovenNote(c)
}

// unprovenNote is " (label from the host, unproven)" after a name the
// digest does not prove, and "" otherwise.
func unprovenNote(c policy.Component) string {
	if c.Name == "" || c.NameProven {
		return ""
	}
	return " (" + UnprovenLabel + ")"
}

func quoteName(n string) string {
	if n == "" {
		return "(unnamed)"
	}
	return "\"" + n + "\""
}
