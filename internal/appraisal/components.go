package appraisal

import (
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
// rules are those of real firmware, shim, GRUB, systemd-boot and the Linux
// EFI stub (the emulated chain measures as GRUB does, with no rule of its
// own):
//
//   - firmware: PCR 0 measurements other than separators (CRTM version and
//     contents, firmware blobs, POST code);
//   - bootloader: PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION images that are
//     not kernels (shim, GRUB, systemd-boot, vmkboot), see bootChain;
//   - kernel: the PCR 4 images bootChain finds to be kernels (shim's
//     verification of the kernel GRUB loads, a UKI, a kernel booted by its
//     EFI stub), and the file GRUB's `linux` (or `multiboot`) command reads
//     into PCR 9, or
//     a PCR 9 file named vmlinuz*, vmlinux*, bzImage* (Red Hat's GRUB:
//     "grub_linuxefi Kernel");
//   - initrd: the files GRUB's `initrd` command reads into PCR 9, or a
//     PCR 9 file named initrd*, initramfs* (Red Hat's "grub_linuxefi
//     Initrd"), and the initrd the Linux EFI stub measures itself (its
//     "Linux initrd" tagged event in PCR 9, whose digest is the initrd's);
//   - boot_options: GRUB's kernel command line strings in PCR 8, the
//     command line systemd-boot measures into PCR 8 (older releases) and
//     systemd-stub into PCR 12, and the Linux EFI stub's load options
//     tagged event in PCR 9;
//   - boot_config: every other file the boot loader read into PCR 9
//     (grub.cfg, grubenv, fonts, GRUB modules), named by its path;
//   - boot_commands: GRUB's other PCR 8 strings, the commands it ran;
//   - modules: the files GRUB's `module`/`module2` commands read into
//     PCR 9, a multiboot kernel's modules (the emulated chain's bundle
//     payloads).
//
// A name is proven only where the event's digest binds the data it is read
// from (datadigest.go); an event whose data does not match its digest
// (lying) keeps its proven digests but loses its name.
func extractComponents(events []eventlog.Event, proven func(idx int) []eventlog.Alg, lying map[int]bool, auths []uefi.Authority) policy.Components {
	// Most events of a log are components: one allocation for them all.
	out := make(policy.Components, 0, len(events))
	chain := readBootChain(events, auths)
	for i := range events {
		e := &events[i]
		class, name := chain.classify(e)
		if class == "" {
			continue
		}
		c := policy.Component{Class: class, Name: name, NameProven: nameBound(e), PCR: e.PCR, EventIndex: e.Index,
			Digests: hexDigests(e, proven(e.Index))}
		c.Authority, c.AuthoritySHA256 = authorityNames(chain.authority[e.Index])
		if cert := chain.inferred[e.Index]; cert != nil {
			c.Authority, c.AuthoritySHA256 = authorityNames(cert)
			c.AuthorityInferred = true
		}
		if lying[e.Index] {
			c.Name, c.NameProven = "", false
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hexDigests are an event's digests in the given banks, lowercase hex by
// bank name. The hex of all banks is written into one string and each
// digest is a part of it: one allocation per event instead of one per bank
// (this runs for every component of every appraisal).
func hexDigests(e *eventlog.Event, banks []eventlog.Alg) map[string]string {
	m := make(map[string]string, len(banks))
	n := 0
	for _, bank := range banks {
		if d, ok := e.Digest(bank); ok {
			n += 2 * len(d)
		}
	}
	var b strings.Builder
	b.Grow(n)
	var tmp [2 * 64]byte
	for _, bank := range banks {
		if d, ok := e.Digest(bank); ok && len(d) <= 64 {
			b.Write(hex.AppendEncode(tmp[:0], d))
		}
	}
	all, off := b.String(), 0
	for _, bank := range banks {
		if d, ok := e.Digest(bank); ok && len(d) <= 64 {
			m[bank.String()] = all[off : off+2*len(d)]
			off += 2 * len(d)
		}
	}
	return m
}

// classify applies the rules of real firmware, shim and GRUB to one event
// alone. GRUB's strings differ by distribution: upstream logs
// "kernel_cmdline: ", "grub_cmd: " and the file path of each file in
// PCR 9; Red Hat's logs "grub_kernel_cmdline ", "grub_cmd " and
// "grub_linuxefi Kernel" / "grub_linuxefi Initrd" for the files of its
// linuxefi commands.
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
	case e.PCR == 9 && e.Type == eventlog.EvEventTag:
		return stubTagClass(e.Data)
	case e.Type != eventlog.EvIPL:
		return "", ""
	case e.PCR == 8:
		return loaderString(e.Data)
	case e.PCR == 12:
		return policy.ClassBootOptions, strings.TrimSpace(utf16Text(e.Data))
	case e.PCR == 9:
		return loaderFile(e.Data)
	}
	return "", ""
}

// kernelCmdlinePrefixes start GRUB's kernel command line strings in PCR 8
// (upstream, Red Hat's linuxefi, and the command line of a multiboot
// module such as a Xen dom0 kernel).
var kernelCmdlinePrefixes = []string{"kernel_cmdline: ", "grub_kernel_cmdline ", "module_cmdline: "}

// grubCmdPrefixes start GRUB's PCR 8 command strings (upstream, Red Hat).
var grubCmdPrefixes = []string{"grub_cmd: ", "grub_cmd "}

// loaderString classifies a PCR 8 EV_IPL string: GRUB's kernel command
// line, GRUB's other commands, or the command line older systemd-boot
// measures there in UTF-16.
func loaderString(d []byte) (class, name string) {
	s := string(d)
	switch {
	case hasAnyPrefix(s, kernelCmdlinePrefixes...):
		return policy.ClassBootOptions, text(d)
	case hasAnyPrefix(s, grubCmdPrefixes...):
		return policy.ClassBootCmds, text(d)
	case isUTF16(d):
		return policy.ClassBootOptions, strings.TrimSpace(utf16Text(d))
	}
	return "", ""
}

// isUTF16 reports whether d looks like UTF-16LE ASCII text (each second
// byte zero), as systemd-boot logs its kernel command line (older releases
// log one NUL byte more: an odd length).
func isUTF16(d []byte) bool {
	if len(d)%2 != 0 && len(d) > 0 && d[len(d)-1] == 0 {
		d = d[:len(d)-1]
	}
	if len(d) < 4 || len(d)%2 != 0 || d[0] == 0 {
		return false
	}
	for i := 1; i < len(d); i += 2 {
		if d[i] != 0 {
			return false
		}
	}
	return true
}

// loaderFile classifies a file the boot loader read into PCR 9 by its
// name: a kernel, an initramfs, or else the boot loader's configuration
// (grub.cfg, grubenv, fonts, modules), named by its path.
func loaderFile(d []byte) (class, name string) {
	p := text(d)
	base := path.Base(p)
	switch {
	case p == "grub_linuxefi Kernel" || hasAnyPrefix(base, "vmlinuz", "vmlinux", "bzImage"):
		return policy.ClassKernel, p
	case p == "grub_linuxefi Initrd" || hasAnyPrefix(base, "initrd", "initramfs"):
		return policy.ClassInitrd, p
	}
	return policy.ClassBootConfig, p
}

// Linux EFI stub tagged events in PCR 9 (linux/include/linux/efi.h): the
// digest of the initrd it loaded, and of its command line (load options).
const (
	stubInitrdTag      = 0x8F3B22EC
	stubLoadOptionsTag = 0x8F3B22ED
)

// stubTagClass classifies the Linux EFI stub's tagged events. Their data
// is a TCG_PCClientTaggedEvent (ID, size, data) whose data is only a
// description ("Linux initrd"); the digest is that of the initrd or the
// command line, so the name is the description, never proven.
func stubTagClass(d []byte) (class, name string) {
	if len(d) < 8 {
		return "", ""
	}
	var desc string
	if n := binary.LittleEndian.Uint32(d[4:8]); uint64(n) <= uint64(len(d)-8) {
		desc = text(d[8 : 8+n])
	}
	switch binary.LittleEndian.Uint32(d[:4]) {
	case stubInitrdTag:
		return policy.ClassInitrd, desc
	case stubLoadOptionsTag:
		return policy.ClassBootOptions, desc
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
	return clip(joinFilePath(parts))
}

// joinFilePath joins the file path nodes of a device path as firmware
// opens them: one node may be a folder (`\EFI\BOOT`) and the next the file
// (`BOOTX64.EFI`), and EDK II's EfiOpenFileByDevicePath puts a backslash
// between two nodes where neither has one.
func joinFilePath(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !strings.HasSuffix(b.String(), `\`) && !strings.HasPrefix(p, `\`) {
			b.WriteByte('\\')
		}
		b.WriteString(p)
	}
	return b.String()
}

// text makes event data a printable label.
func text(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if plainText(b) {
		return clip(string(b))
	}
	return clip(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, string(b)))
}

// plainText reports whether b is printable ASCII, which text keeps as it
// is: most names are, and copying them once is cheaper than mapping them.
func plainText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
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
	return text([]byte(string(utf16.Decode(utf16Units(b)))))
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
// values, in the order of policy.Classes. A class without reference values
// is not constrained. Each component records whether it was judged and
// the reference entry it matched, for the page's "matched: ..." and "not
// judged: ..." lines.
func (a *appraisal) checkReferences() {
	p := a.in.Policy
	for _, class := range policy.Classes {
		code := referenceCodes[class]
		refs := p.References.Class(class)
		ruled := a.ruled(class)
		if len(refs) == 0 && !ruled {
			if !p.IsPerHost(class) { // checkPerHost says what judged it
				a.pass(code, "The policy sets no reference values for "+classPlural[class]+".")
			}
			continue
		}
		measured := false
		for i := range a.v.Components {
			c := &a.v.Components[i]
			if c.Class != class {
				continue
			}
			measured = true
			c.Judged = true
			if a.rules.denied[c.EventIndex] {
				continue // failed as denied, whatever else matches
			}
			ref, ok, lapsed := p.MatchAt(*c, a.in.Now)
			if ok {
				c.Reference = ref.String()
				continue
			}
			msg, ok := a.ruleAccepts(c, refs)
			if ok {
				continue
			}
			a.fail(Check{Code: code, Bank: a.v.Bank, PCR: intp(c.PCR), EventIndex: intp(c.EventIndex), Component: shownName(*c),
				Message: msg + expiredNote(lapsed), Expected: a.expected(class, refs), Found: c.Digests[a.v.Bank]})
		}
		if !measured {
			// A boot that measured none of a class the group pins did not
			// run what the group expects (a halted or diverted boot).
			a.fail(Check{Code: code, Bank: a.v.Bank, Expected: a.expected(class, refs), Found: "nothing measured",
				Message: "The boot measured no " + classSingular[class] + ", but the policy has reference values for " + classPlural[class] + "."})
			continue
		}
		a.pass(code, "All measured "+classPlural[class]+" are among the policy's reference values.")
	}
}

// notReferenceMessage says which component is not among the reference
// values, in the words of its class: "The kernel \"/vmlinuz\" is not ...",
// "The boot loader read the file \"(hd0)/EFI/debian/grub.cfg\", which is
// not ...".
func notReferenceMessage(c policy.Component) string {
	n := quoteName(c.Name) + unprovenNote(c)
	switch c.Class {
	case policy.ClassBootConfig:
		return "The boot loader read the file " + n + ", which is not among the policy's reference values."
	case policy.ClassBootCmds:
		return "The boot loader ran the command " + n + ", which is not among the policy's reference values."
	case policy.ClassBootOptions:
		return "The boot options " + n + " are not among the policy's reference values."
	}
	return "The " + classNoun[c.Class] + " " + n + " is not among the policy's reference values."
}

func refStrings(refs []policy.Reference) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out
}

// classSingular names one component of a class, for "measured no ...".
var classSingular = map[string]string{
	policy.ClassFirmware:    "firmware",
	policy.ClassBootloader:  "boot loader",
	policy.ClassKernel:      "kernel",
	policy.ClassInitrd:      "initramfs",
	policy.ClassBootOptions: "boot options",
	policy.ClassBootConfig:  "file read by the boot loader",
	policy.ClassBootCmds:    "boot loader command",
	policy.ClassModules:     "module",
}

var classPlural = map[string]string{
	policy.ClassFirmware:    "firmware components",
	policy.ClassBootloader:  "boot loaders",
	policy.ClassKernel:      "kernels",
	policy.ClassInitrd:      "initramfs images",
	policy.ClassBootOptions: "boot options",
	policy.ClassBootConfig:  "files read by the boot loader",
	policy.ClassBootCmds:    "boot loader commands",
	policy.ClassModules:     "modules",
}

// classNoun names a component of a class before its name in a message.
var classNoun = map[string]string{
	policy.ClassFirmware:   "firmware",
	policy.ClassBootloader: "boot loader",
	policy.ClassKernel:     "kernel",
	policy.ClassInitrd:     "initramfs",
	policy.ClassModules:    "module",
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
