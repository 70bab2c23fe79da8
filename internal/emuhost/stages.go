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

// Prefixes of the readable EV_IPL data of the boot loader and kernel, so a
// verifier can tell what each event in PCRs 8 and 9 stands for. The data is
// untrusted like all event data; only its digest is covered by replay.
const (
	BootOptionsPrefix = "boot_options: " // PCR 8; followed by the kernel command line
	KernelPrefix      = "kernel: "       // PCR 9; followed by "<name> <version>"
	ModulePrefix      = "module: "       // PCR 9; followed by "<bundle>/<payload>"
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
	return fmt.Sprintf("%s %s autoPartition=FALSE vmkBootVerify=TRUE secureBoot=%s", KernelName, KernelVersion, sb)
}

// loader is the boot loader (vmkboot): it measures the boot options and the
// kernel, verifies the kernel against the OS vendor certificate it carries
// (halting on failure with Secure Boot on), and exits boot services.
func (b *booter) loader() error {
	m, h := b.m, b.h
	if err := m.event(PCRBootOptions, eventlog.EvIPL, []byte(BootOptionsPrefix+b.bootOptions())); err != nil {
		return err
	}
	if b.sb {
		if _, err := h.kernel.verify([]*x509.Certificate{b.v.OS.Root}, "the OS vendor certificate in the boot loader"); err != nil {
			return &HaltError{Stage: StageLoader, Component: h.kernel.String(), Reason: err.Error()}
		}
	}
	if err := m.measure(PCRKernelModules, eventlog.EvIPL,
		[]byte(KernelPrefix+h.kernel.name+" "+h.kernel.version), h.kernel.body); err != nil {
		return err
	}
	if err := m.event(PCRExitBoot, eventlog.EvEFIAction, []byte(actionExitBootServices)); err != nil {
		return err
	}
	return m.event(PCRExitBoot, eventlog.EvEFIAction, []byte(actionExitBootSuccess))
}

// kernel is the kernel's Secure Boot verifier and init: it checks every
// installed bundle's chain to the OS vendor root and every payload's
// digests, halting on the first failure with Secure Boot on, then loads and
// measures every payload, bundle by bundle in name order.
func (b *booter) kernel() error {
	bundles := append([]installedBundle(nil), b.h.bundles...)
	sort.Slice(bundles, func(i, j int) bool { return bundles[i].name < bundles[j].name })
	type loaded struct {
		name string
		desc *bundle.Descriptor
		data map[string][]byte
	}
	var load []loaded
	for _, ib := range bundles {
		bd, err := bundle.Parse(ib.file)
		if err != nil {
			if b.sb {
				return &HaltError{Stage: StageKernel, Component: "bundle " + ib.name, Reason: err.Error()}
			}
			continue // unreadable: nothing to load
		}
		if b.sb {
			comp := fmt.Sprintf("bundle %s %s", bd.Descriptor.Name, bd.Descriptor.Version)
			if err := bd.Verify(b.v.TrustedBundleRoots(), b.now); err != nil {
				return &HaltError{Stage: StageKernel, Component: comp, Reason: err.Error()}
			}
			if err := bundle.VerifyPayloads(&bd.Descriptor, ib.payloads); err != nil {
				return &HaltError{Stage: StageKernel, Component: comp, Reason: err.Error()}
			}
		}
		load = append(load, loaded{ib.name, &bd.Descriptor, ib.payloads})
	}
	for _, l := range load {
		for _, p := range l.desc.Payloads {
			data, ok := l.data[p.Name]
			if !ok {
				continue
			}
			name := strings.Join([]string{l.name, p.Name}, "/")
			if err := b.m.measure(PCRKernelModules, eventlog.EvIPL, []byte(ModulePrefix+name), data); err != nil {
				return err
			}
		}
	}
	return nil
}
