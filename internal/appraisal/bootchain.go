package appraisal

import (
	"path"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// bootChain is what the position of each PCR 4 image in the boot says it
// is. Every image of EV_EFI_BOOT_SERVICES_APPLICATION type is measured the
// same way (its Authenticode hash), whoever loaded it: the firmware's boot
// option (shim, systemd-boot, a UKI, GRUB or a kernel's EFI stub), shim for
// GRUB, and shim again when GRUB asks it to verify the kernel. Only what
// the boot did around each image tells them apart:
//
//   - after GRUB started loading a kernel (its `linux` command in PCR 8,
//     or a kernel file in PCR 9), an image is the kernel, verified through
//     shim's protocol;
//   - the image that systemd-stub runs in (the stub measures the UKI's
//     sections into PCR 11) is a kernel, and so is the image it starts;
//   - the image the Linux EFI stub runs in (it tags its command line and
//     initrd in PCR 9) is the kernel, when GRUB loaded no kernel file after
//     it;
//   - after shim and the loader it verified, an image is the kernel that
//     loader had shim verify (shim logs its own authorities or its MOK
//     state in PCR 14, so a shim boot is known even when GRUB logs
//     nothing);
//   - an image whose file path names a kernel (vmlinuz*, bzImage*, a UKI
//     under \EFI\Linux\) is a kernel: direct EFI-stub boot from a boot
//     option or from systemd-boot.
//
// Every other image is a boot loader (the first- and second-stage loaders).
// The order of events across PCRs is not proven (each PCR's replay proves
// only its own events' order), so a host could move an image into the other
// class; its digest must then match the other class's reference values,
// which it does not where they were learned from a real boot.
type bootChain struct {
	// kernels are the log indices of the PCR 4 images that are kernels.
	kernels map[int]bool
	// kernelFiles are the log indices of the PCR 9 files GRUB's `linux`
	// command read, whatever their name ("/boot/kernel").
	kernelFiles map[int]bool
	// kernelFile is, per kernel image, the name of the kernel file GRUB
	// read before it ("" when there was none).
	kernelFile map[int]string
	// initrdFiles are the log indices of the PCR 9 files GRUB's `initrd`
	// command read, whatever their name ("/boot/initrd-stateless.gz").
	initrdFiles map[int]bool
	// moduleFiles are the log indices of the PCR 9 files GRUB's `module`
	// or `module2` command read: a multiboot kernel's modules.
	moduleFiles map[int]bool
	// authority is, per image, the certificate that verified it, and
	// inferred the images whose certificate was logged once, for an
	// earlier image (loggedOnceAuthorities).
	authority map[int]*uefi.Cert
	inferred  map[int]*uefi.Cert
}

// grubLinuxPrefixes start the PCR 8 text of GRUB's kernel-loading commands
// (upstream "grub_cmd: ", Red Hat's "grub_cmd "): `linux`, `linuxefi`, and
// `multiboot`/`multiboot2`, which load a hypervisor's kernel (Xen, or a
// kernel that takes its modules from the boot loader, as the emulated
// ESXi-like chain does).
var grubLinuxPrefixes = []string{"grub_cmd: linux ", "grub_cmd linux ", "grub_cmd: linuxefi ", "grub_cmd linuxefi ",
	"grub_cmd: multiboot ", "grub_cmd multiboot ", "grub_cmd: multiboot2 ", "grub_cmd multiboot2 "}

// grubModulePrefixes start the PCR 8 text of GRUB's multiboot module
// commands: the file each one reads is a module of the multiboot kernel.
var grubModulePrefixes = []string{"grub_cmd: module ", "grub_cmd module ", "grub_cmd: module2 ", "grub_cmd module2 "}

// grubInitrdPrefixes start the PCR 8 text of GRUB's initrd-loading
// commands (Debian's GRUB runs `initrdefi`); "initrdfail" is another
// command and does not match.
var grubInitrdPrefixes = []string{"grub_cmd: initrd ", "grub_cmd initrd ", "grub_cmd: initrdefi ", "grub_cmd initrdefi "}

// dataHasPrefix reports whether event data starts with one of prefixes,
// without copying the data (this runs for every event of every appraisal).
func dataHasPrefix(d []byte, prefixes []string) bool {
	for _, p := range prefixes {
		if len(d) >= len(p) && string(d[:len(p)]) == p {
			return true
		}
	}
	return false
}

// readBootChain walks the proven events in log order. auths are the PCR 7
// authority events (nil when Secure Boot state could not be read).
func readBootChain(events []eventlog.Event, auths []uefi.Authority) *bootChain {
	bc := &bootChain{kernels: map[int]bool{}, kernelFiles: map[int]bool{}, kernelFile: map[int]string{}, initrdFiles: map[int]bool{},
		moduleFiles: map[int]bool{}}
	var (
		last       = -1 // the latest PCR 4 image
		loading    bool // GRUB has started loading a kernel
		kernelFile string
		wantFile   string          // the file GRUB's `linux` command reads
		wantInitrd map[string]bool // the files GRUB's `initrd` command reads
		wantModule string          // the file GRUB's `module` command reads
	)
	for i := range events {
		e := &events[i]
		switch {
		case isImage(e):
			last = e.Index
			if loading || kernelPath(imagePath(e.Data)) {
				bc.kernels[e.Index] = true
				bc.kernelFile[e.Index] = kernelFile
			}
		case e.PCR == 8 && e.Type == eventlog.EvIPL && dataHasPrefix(e.Data, grubLinuxPrefixes):
			loading, wantFile = true, linuxArg(e.Data)
		case e.PCR == 8 && e.Type == eventlog.EvIPL && dataHasPrefix(e.Data, grubInitrdPrefixes):
			wantInitrd = initrdArgs(e.Data)
		case e.PCR == 8 && e.Type == eventlog.EvIPL && dataHasPrefix(e.Data, grubModulePrefixes):
			wantModule = linuxArg(e.Data)
		case e.PCR == 9 && e.Type == eventlog.EvIPL && wantModule != "" && withoutDevice(text(e.Data)) == wantModule:
			bc.moduleFiles[e.Index] = true
			wantModule = ""
		case e.PCR == 9 && e.Type == eventlog.EvIPL && (isFile(e.Data, wantFile) || isKernelFile(e)):
			bc.kernelFiles[e.Index] = true
			loading, wantFile, kernelFile = true, "", text(e.Data)
		case e.PCR == 9 && e.Type == eventlog.EvIPL && wantInitrd[withoutDevice(text(e.Data))]:
			bc.initrdFiles[e.Index] = true
			delete(wantInitrd, withoutDevice(text(e.Data)))
		case e.PCR == 11 && e.Type == eventlog.EvIPL && !loading && last >= 0:
			// systemd-stub measures the UKI it runs in: that image is
			// a kernel, and so is the one it starts.
			bc.kernels[last], loading = true, true
		case e.PCR == 9 && e.Type == eventlog.EvEventTag && isStubTag(e.Data) && !loading && last >= 0:
			bc.kernels[last] = true
		}
	}
	if shimBoot(events, auths) {
		// shim, then the loader it verified, then what that loader
		// had shim verify: the kernel.
		images := imagesAfterSeparator(events)
		for _, im := range images[min(2, len(images)):] {
			bc.kernels[im] = true
		}
	}
	bc.authority = imageAuthorities(events, auths)
	bc.inferred = loggedOnceAuthorities(events, auths, bc.authority)
	return bc
}

// shimVariables are the authority variables only shim logs.
var shimVariables = map[string]bool{"Shim": true, "MokList": true, "MokListRT": true, "vendor_db": true, "SbatLevel": true, "MokListTrusted": true}

// shimBoot reports whether shim was the first-stage loader: it logged an
// authority of its own or its MOK state in PCR 14.
func shimBoot(events []eventlog.Event, auths []uefi.Authority) bool {
	for _, a := range auths {
		if shimVariables[a.Variable] {
			return true
		}
	}
	for i := range events {
		if events[i].PCR == 14 {
			return true
		}
	}
	return false
}

// linuxArg is the kernel path of GRUB's `linux` command text, without its
// device ("(hd0,gpt2)").
func linuxArg(d []byte) string {
	f := strings.Fields(text(d))
	for _, a := range f[min(2, len(f)):] {
		if !strings.HasPrefix(a, "--") { // multiboot's --quirk-*, module's --nounzip
			return withoutDevice(a)
		}
	}
	return ""
}

// initrdArgs are the files of GRUB's `initrd` command text (several are
// allowed: microcode, then the initramfs), without their device.
func initrdArgs(d []byte) map[string]bool {
	f := strings.Fields(text(d))
	out := map[string]bool{}
	for _, a := range f[min(2, len(f)):] {
		if !strings.HasPrefix(a, "--") {
			out[withoutDevice(a)] = true
		}
	}
	return out
}

// isFile reports whether a PCR 9 file is the one GRUB's `linux` command
// named (Red Hat's GRUB logs "grub_linuxefi Kernel" for it).
func isFile(d []byte, want string) bool {
	if want == "" {
		return false
	}
	got := text(d)
	return got == "grub_linuxefi Kernel" || withoutDevice(got) == want
}

func withoutDevice(p string) string {
	if strings.HasPrefix(p, "(") {
		if i := strings.IndexByte(p, ')'); i >= 0 {
			return p[i+1:]
		}
	}
	return p
}

func isImage(e *eventlog.Event) bool {
	return e.PCR == 4 && e.Type == eventlog.EvEFIBootServicesApplication
}

// isKernelFile is a PCR 9 file whose name says it is a kernel.
func isKernelFile(e *eventlog.Event) bool {
	class, _ := classify(e)
	return class == policy.ClassKernel
}

// kernelPath reports whether an image's file path names a kernel.
func kernelPath(p string) bool {
	if p == "" {
		return false
	}
	p = strings.ReplaceAll(p, `\`, "/")
	base := path.Base(p)
	return hasAnyPrefix(strings.ToLower(base), "vmlinuz", "vmlinux", "bzimage") ||
		strings.HasPrefix(strings.ToLower(p), "/efi/linux/") && strings.HasSuffix(strings.ToLower(base), ".efi")
}

// isStubTag reports whether a tagged event is the Linux EFI stub's.
func isStubTag(d []byte) bool {
	class, _ := stubTagClass(d)
	return class != ""
}

// classify is an event's class and name as its place in the boot says:
// the emulated chain's conventions, then the rules of real boots
// (classify), with each PCR 4 image classed by its place in the chain and
// the files GRUB's `linux` and `initrd` commands named classed by them.
func (bc *bootChain) classify(e *eventlog.Event) (class, name string) {
	class, name = classify(e)
	switch {
	case isImage(e):
		return bc.class(e, name)
	case bc.kernelFiles[e.Index]:
		return policy.ClassKernel, text(e.Data)
	case bc.initrdFiles[e.Index]:
		return policy.ClassInitrd, text(e.Data)
	case bc.moduleFiles[e.Index]:
		return policy.ClassModules, text(e.Data)
	}
	return class, name
}

// class is an image's class and name: a kernel loaded from memory takes
// the name of the kernel file GRUB read for it.
func (bc *bootChain) class(e *eventlog.Event, name string) (string, string) {
	if !bc.kernels[e.Index] {
		return policy.ClassBootloader, name
	}
	if f := bc.kernelFile[e.Index]; f != "" && imagePath(e.Data) == "" {
		name = clip(f + " (EFI image)")
	}
	return policy.ClassKernel, name
}
