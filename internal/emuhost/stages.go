package emuhost

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/eventlog"
)

// PCRs of the emulated boot (see the table in doc.go).
const (
	PCRFirmware      = 0
	PCRFirmwareConf  = 1
	PCRBootManager   = 4
	PCRExitBoot      = 5
	PCRSecureBoot    = 7
	PCRBootOptions   = 8
	PCRKernelModules = 9
)

// The boot loader measures as GRUB does when it boots a multiboot kernel
// with modules (grub-core/commands/tpm.c): each command it runs into PCR 8
// as "grub_cmd: <command>", each file it reads into PCR 9 (the data is the
// file's path, the digest the file's), and the kernel's and each module's
// command line into PCR 8 as "kernel_cmdline: " and "module_cmdline: ". A
// PCR 8 string's digest is the hash of the text after its prefix; GRUB logs
// the text with a NUL. A verifier needs no rule of this emulator's own.
const (
	KernelCmdlinePrefix = "kernel_cmdline: " // PCR 8; the kernel's path and command line
	BootConfigFile      = "/boot.cfg"        // PCR 9; the loader's configuration, read first
	KernelFilePrefix    = "/boot/"           // PCR 9; "/boot/<name>-<version>", digest of the kernel image
	ModuleFilePrefix    = "/bundles/"        // PCR 9; "/bundles/<bundle>/<payload>", digest of the payload
	grubCommandPrefix   = "grub_cmd: "
	moduleCmdlinePrefix = "module_cmdline: "
)

// EV_EFI_ACTION strings of the PC Client PFP §10.4.4 and UEFI firmware.
const (
	actionCallingApp       = "Calling EFI Application from Boot Option"
	actionExitBootServices = "Exit Boot Services Invocation"
	actionExitBootSuccess  = "Exit Boot Services Returned with Success"
)

// firmware is the UEFI firmware: it measures itself, its configuration and
// the Secure Boot variables, then verifies (with Secure Boot on) and
// measures the boot loader.
func (b *booter) firmware() error {
	m, h := b.m, b.h
	crtm := append(utf16le(FirmwareVersion), 0, 0)
	if err := m.event(PCRFirmware, eventlog.EvSCRTMVersion, crtm); err != nil {
		return err
	}
	if err := m.measure(PCRFirmware, eventlog.EvEFIPlatformFirmwareBlob,
		firmwareBlob(0xffc00000, uint64(len(h.firmware.body))), h.firmware.body); err != nil {
		return err
	}
	// Boot variables: like EDK2, the digest covers the variable's data only
	// (PFP §10.4.4 leaves EV_EFI_VARIABLE_BOOT ambiguous; firmware does this).
	bootOrder := []byte{0, 0}
	if err := m.measure(PCRFirmwareConf, eventlog.EvEFIVariableBoot,
		variableData(efiGlobalVariable, "BootOrder", bootOrder), bootOrder); err != nil {
		return err
	}
	boot0 := loadOption("ESXi", filePathDevicePath(loaderPath))
	if err := m.measure(PCRFirmwareConf, eventlog.EvEFIVariableBoot,
		variableData(efiGlobalVariable, "Boot0000", boot0), boot0); err != nil {
		return err
	}
	// Secure Boot policy, PFP §3.3.4.8: SecureBoot, PK, KEK, db, dbx in this
	// order, each digest over the whole UEFI_VARIABLE_DATA.
	sbVal := byte(0)
	if b.sb {
		sbVal = 1
	}
	var dbx []byte
	for _, hash := range h.dbx {
		dbx = append(dbx, signatureList(efiCertSHA256, hash)...)
	}
	vars := []struct {
		vendor guid
		name   string
		data   []byte
	}{
		{efiGlobalVariable, "SecureBoot", []byte{sbVal}},
		{efiGlobalVariable, "PK", x509Lists(b.v.PK.Root.Raw)},
		{efiGlobalVariable, "KEK", x509Lists(b.v.KEK.Root.Raw)},
		{efiImageSecurityDatabase, "db", x509Lists(b.v.DB.Root.Raw)},
		{efiImageSecurityDatabase, "dbx", dbx},
	}
	for _, v := range vars {
		if err := m.event(PCRSecureBoot, eventlog.EvEFIVariableDriverConfig, variableData(v.vendor, v.name, v.data)); err != nil {
			return err
		}
	}
	if err := m.event(PCRBootManager, eventlog.EvEFIAction, []byte(actionCallingApp)); err != nil {
		return err
	}
	for pcr := 0; pcr <= 7; pcr++ {
		if err := m.event(pcr, eventlog.EvSeparator, []byte{0, 0, 0, 0}); err != nil {
			return err
		}
	}
	if b.sb {
		if revoked := containsHash(h.dbx, sha256Of(h.loader.body)); revoked {
			return &HaltError{Stage: StageFirmware, Component: h.loader.String(), Reason: "image hash is revoked by dbx"}
		}
		auth, err := h.loader.verify([]*x509.Certificate{b.v.DB.Root}, "db")
		if err != nil {
			return &HaltError{Stage: StageFirmware, Component: h.loader.String(), Reason: err.Error()}
		}
		// The db entry that authorised the image (PFP §3.3.4.8, §10.4.4).
		if err := m.event(PCRSecureBoot, eventlog.EvEFIVariableAuthority,
			variableData(efiImageSecurityDatabase, "db", signatureData(signatureOwner, auth.Raw))); err != nil {
			return err
		}
	}
	return m.measure(PCRBootManager, eventlog.EvEFIBootServicesApplication,
		imageLoadEvent(0x7e000000, uint64(len(h.loader.body)), filePathDevicePath(loaderPath)), h.loader.body)
}

func containsHash(list [][]byte, h []byte) bool {
	for _, x := range list {
		if string(x) == string(h) {
			return true
		}
	}
	return false
}

// bootOptions is the kernel command line the boot loader passes, which says
// whether Secure Boot is on.
func (b *booter) bootOptions() string {
	sb := "FALSE"
	if b.sb {
		sb = "TRUE"
	}
	return "autoPartition=FALSE vmkBootVerify=TRUE secureBoot=" + sb
}

// kernelFile is the kernel's path, versioned as a distribution's grub.cfg
// names it.
func (h *host) kernelFile() string {
	return KernelFilePrefix + h.kernel.name + "-" + h.kernel.version
}

// loader is the boot loader (the vmkboot role, measuring as GRUB does):
// it loads the kernel, verifying it against the OS vendor certificate it
// carries (halting on failure with Secure Boot on), then every payload of
// the installed bundles as a module, and exits boot services. The kernel
// verifies the bundles after it starts.
func (b *booter) loader() error {
	m, h := b.m, b.h
	kernel, opts := h.kernelFile(), b.bootOptions()
	mods := h.modules()
	if err := m.grubString(grubCommandPrefix, "source "+BootConfigFile); err != nil {
		return err
	}
	if err := m.grubFile(BootConfigFile, h.bootConfig(mods)); err != nil {
		return err
	}
	if err := m.grubString(grubCommandPrefix, "multiboot2 "+kernel+" "+opts); err != nil {
		return err
	}
	if b.sb {
		if _, err := h.kernel.verify([]*x509.Certificate{b.v.OS.Root}, "the OS vendor certificate in the boot loader"); err != nil {
			return &HaltError{Stage: StageLoader, Component: h.kernel.String(), Reason: err.Error()}
		}
	}
	if err := m.grubFile(kernel, h.kernel.body); err != nil {
		return err
	}
	if err := m.grubString(KernelCmdlinePrefix, kernel+" "+opts); err != nil {
		return err
	}
	for _, mod := range mods {
		if err := m.grubString(grubCommandPrefix, "module2 "+mod.path); err != nil {
			return err
		}
		if err := m.grubFile(mod.path, mod.data); err != nil {
			return err
		}
		if err := m.grubString(moduleCmdlinePrefix, mod.path); err != nil {
			return err
		}
	}
	if err := m.grubString(grubCommandPrefix, "boot"); err != nil {
		return err
	}
	if err := m.event(PCRExitBoot, eventlog.EvEFIAction, []byte(actionExitBootServices)); err != nil {
		return err
	}
	return m.event(PCRExitBoot, eventlog.EvEFIAction, []byte(actionExitBootSuccess))
}

// bootConfig is the boot loader's configuration file, as ESXi's boot.cfg
// names the kernel and its modules: it changes with them, not with the
// Secure Boot setting.
func (h *host) bootConfig(mods []module) []byte {
	var paths []string
	for _, m := range mods {
		paths = append(paths, m.path)
	}
	return []byte(fmt.Sprintf("title=Loading %s\nkernel=%s\nkernelopt=autoPartition=FALSE vmkBootVerify=TRUE\nmodules=%s\n",
		KernelName, h.kernelFile(), strings.Join(paths, " --- ")))
}

// module is one payload the boot loader loads.
type module struct {
	path string
	data []byte
}

// modules are the payloads of the installed bundles, bundle by bundle in
// name order and payload by payload in descriptor order. A bundle whose
// file cannot be read names no payloads: nothing of it is loaded.
func (h *host) modules() []module {
	bundles := append([]installedBundle(nil), h.bundles...)
	sort.Slice(bundles, func(i, j int) bool { return bundles[i].name < bundles[j].name })
	var out []module
	for _, ib := range bundles {
		bd, err := bundle.Parse(ib.file)
		if err != nil {
			continue
		}
		for _, p := range bd.Descriptor.Payloads {
			if data, ok := ib.payloads[p.Name]; ok {
				out = append(out, module{ModuleFilePrefix + ib.name + "/" + p.Name, data})
			}
		}
	}
	return out
}

// kernel is the kernel's Secure Boot verifier: with Secure Boot on it
// checks every installed bundle's chain to the OS vendor root and every
// payload's digests, halting on the first failure. It measures nothing:
// the boot loader measured every module it loaded.
func (b *booter) kernel() error {
	if !b.sb {
		return nil
	}
	bundles := append([]installedBundle(nil), b.h.bundles...)
	sort.Slice(bundles, func(i, j int) bool { return bundles[i].name < bundles[j].name })
	for _, ib := range bundles {
		bd, err := bundle.Parse(ib.file)
		if err != nil {
			return &HaltError{Stage: StageKernel, Component: "bundle " + ib.name, Reason: err.Error()}
		}
		comp := fmt.Sprintf("bundle %s %s", bd.Descriptor.Name, bd.Descriptor.Version)
		if err := bd.Verify(b.v.TrustedBundleRoots(), b.now); err != nil {
			return &HaltError{Stage: StageKernel, Component: comp, Reason: err.Error()}
		}
		if err := bundle.VerifyPayloads(&bd.Descriptor, ib.payloads); err != nil {
			return &HaltError{Stage: StageKernel, Component: comp, Reason: err.Error()}
		}
	}
	return nil
}
