package appraisal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// TestBootChainCorpus pins, for every real log of the shared corpus and
// for the Debian shim + GRUB boot of e2e/qemu (testdata/debian-qemu/sb-on), the
// class of each PCR 4 image, the kernel and initramfs files, the boot
// options and the files the boot loader read, the verifying authority of
// each image, and how many boot loader commands there were, in
// testdata/bootchain.golden (reviewed by hand: the shim + GRUB boots of
// Debian, Ubuntu, Fedora, Red Hat and COS have shim as a boot loader
// verified by the db entry, GRUB as a boot loader verified by the
// distribution's CA, the kernel as a kernel, the initramfs GRUB's `initrd`
// command read as initrd and grub.cfg and grubenv as boot_config;
// systemd-boot boots and UKIs have the kernel as a kernel, the Linux EFI
// stub's tagged events are initrd and boot_options). Every event counts as
// proven here: replay is tested elsewhere, this is what the chain says.
// Rewrite with: go test ./internal/appraisal -run BootChainCorpus -update
func TestBootChainCorpus(t *testing.T) {
	var out bytes.Buffer
	logs := []struct {
		name string
		raw  []byte
	}{{"bootproof/debian-qemu", debianQemuLog(t)}}
	for _, c := range corpus.Cases(t) {
		logs = append(logs, struct {
			name string
			raw  []byte
		}{c.Name, c.Log})
	}
	for _, c := range logs {
		log, err := eventlog.Parse(c.raw)
		if err != nil {
			continue
		}
		var auths []uefi.Authority
		if sb, err := uefi.SecureBootState(log.Events); err == nil {
			auths = sb.Authorities
		}
		all := func(int) []eventlog.Alg { return []eventlog.Alg{eventlog.SHA256} }
		lines := chainLines(extractComponents(log.Events, all, nil, auths))
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&out, "%s\n%s", c.name, strings.Join(lines, ""))
	}
	compareGolden(t, filepath.Join("testdata", "bootchain.golden"), out.Bytes())
}

// debianQemuLog is the event log of e2e/qemu's Debian boot (OVMF, Debian's
// signed shim, GRUB and kernel, Secure Boot on).
func debianQemuLog(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "debian-qemu", "sb-on", "eventlog.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chainLines shows what booted, one component a line (the firmware and
// the boot loader commands, many and mostly alike, are only counted).
func chainLines(cs policy.Components) []string {
	var lines []string
	commands := 0
	for _, c := range cs {
		switch {
		case c.Class == policy.ClassBootCmds:
			commands++
			continue
		case c.PCR != 4 && c.Class != policy.ClassKernel && c.Class != policy.ClassInitrd &&
			c.Class != policy.ClassBootOptions && c.Class != policy.ClassBootConfig:
			continue
		}
		l := fmt.Sprintf("  %3d pcr%d %-10s %s", c.EventIndex, c.PCR, c.Class, c.Name)
		if c.Authority != "" {
			l += " <- " + c.Authority + " " + c.AuthoritySHA256[:16]
			if c.AuthorityInferred {
				l += " (inferred: logged once, for an earlier image)"
			}
		}
		lines = append(lines, l+"\n")
	}
	if commands > 0 {
		lines = append(lines, fmt.Sprintf("  %d boot_commands\n", commands))
	}
	return lines
}

// compareGolden compares got with a golden file, or rewrites the file
// with -update.
func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("differs from %s (run with -update after checking):\n%s", file, got)
	}
}

var (
	shimImage       = []byte("test shim 15.8")
	grubImage       = []byte("test grub 2.06")
	kernelPE        = []byte("test kernel 6.1.0-18 authenticode")
	otherKernelPE   = []byte("test kernel 6.1.0-21 authenticode")
	grubLinuxCmd    = "grub_cmd: linux /boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro"
	shimKernelFile  = "/boot/vmlinuz-6.1.0-18-amd64"
	shimKernelImage = shimKernelFile + " (EFI image)"
)

// memoryImage is a UEFI_IMAGE_LOAD_EVENT without a device path, as shim
// logs the images it verifies from memory.
func memoryImage(size int) []byte {
	out := binary.LittleEndian.AppendUint64(nil, 0x1000)
	out = binary.LittleEndian.AppendUint64(out, uint64(size))
	out = binary.LittleEndian.AppendUint64(out, 0)
	return binary.LittleEndian.AppendUint64(out, 0)
}

// shimGrubBoot is what OVMF, shim (before 15.5: each authority after its
// image), GRUB and a signed kernel measure: shim verified by the db entry,
// GRUB and the kernel by shim's built-in vendor certificate (here the KEK
// test certificate). pe is the kernel's Authenticode image, which shim
// measures into PCR 4 when GRUB asks it to verify the kernel; the kernel
// file GRUB reads into PCR 9 stays the same.
func shimGrubBoot(t testing.TB, pe []byte) []measurement {
	ms := standardBoot(t, bootOpts{secureBoot: true})
	i := slices.IndexFunc(ms, func(m measurement) bool { return m.pcr == 4 && m.typ == eventlog.EvEFIBootServicesApplication })
	fw := slices.Clone(ms[:i])
	db := uefi.EncodeVariableData(imageSecurity, "db", append(make([]byte, 16), readCert(t, "db.der")...))
	vendor, vendorMeasured := shimAuthority("Shim", readCert(t, "kek.der"))
	return append(fw,
		measurement{pcr: 7, typ: eventlog.EvEFIVariableAuthority, data: db},
		measurement{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: imageLoadEvent(`\EFI\debian\shimx64.efi`), measured: shimImage},
		measurement{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: memoryImage(len(grubImage)), measured: grubImage},
		measurement{pcr: 7, typ: eventlog.EvEFIVariableAuthority, data: vendor, measured: vendorMeasured},
		measurement{pcr: 8, typ: eventlog.EvIPL, data: []byte(grubLinuxCmd + "\x00"), measured: []byte(grubLinuxCmd[len("grub_cmd: "):])},
		measurement{pcr: 9, typ: eventlog.EvIPL, data: []byte(shimKernelFile + "\x00"), measured: kernelImage},
		measurement{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: memoryImage(len(pe)), measured: pe},
		measurement{pcr: 7, typ: eventlog.EvEFIVariableAuthority, data: vendor, measured: vendorMeasured},
		measurement{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/initrd.img-6.1.0-18-amd64\x00"), measured: initrdImage},
	)
}

// TestAppraiseShimGrubKernel boots shim, GRUB and a kernel on the
// reference TPM and checks what each image is named, which authority
// verified it, and that booting another kernel (only the PCR 4 image of the
// kernel differs) fails as a kernel change, naming the kernel.
func TestAppraiseShimGrubKernel(t *testing.T) {
	appraise := func(pe []byte, p *policy.Policy) *Verdict {
		h := boot(t, testBanks, shimGrubBoot(t, pe))
		v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	golden := appraise(kernelPE, policy.Default())
	if golden.Status != Passed {
		t.Fatalf("golden shim boot: %s: %+v", golden.Status, golden.Failures())
	}
	type image struct{ Class, Name, Authority, AuthoritySHA256 string }
	var got []image
	for _, c := range golden.Components {
		if c.PCR == 4 {
			got = append(got, image{c.Class, c.Name, c.Authority, c.AuthoritySHA256})
		}
	}
	dbFP, vendorFP := fingerprint(readCert(t, "db.der")), fingerprint(readCert(t, "kek.der"))
	want := []image{
		{policy.ClassBootloader, `\EFI\debian\shimx64.efi`, "Test Platform DB", dbFP},
		{policy.ClassBootloader, "EFI application without a file path", "Test Platform KEK", vendorFP},
		{policy.ClassKernel, shimKernelImage, "Test Platform KEK", vendorFP},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PCR 4 images (-want +got):\n%s", diff)
	}

	v := appraise(otherKernelPE, policy.Learn(golden.Components, nil))
	fails := v.Failures()
	if len(fails) == 0 {
		t.Fatal("another kernel passed")
	}
	first := fails[0]
	if first.Code != CodeRefKernel || first.Component != shimKernelImage+" ("+UnprovenLabel+")" || first.PCR == nil || *first.PCR != 4 {
		t.Errorf("first failure = %s %q (PCR %s), want %s naming %q in PCR 4: %s", first.Code, first.Component, pcrString(first.PCR), CodeRefKernel, shimKernelImage, first.Message)
	}
	if diff := cmp.Diff([]string{CodeRefKernel}, failedCodes(v)); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
}

func pcrString(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// chainImage is what an operator reads of a PCR 4 image: its class and
// the common name of the certificate that verified it.
type chainImage struct{ Class, Authority string }

// TestBootChainCorpusCases checks, on real boots of each kind, the class
// of every PCR 4 image and who verified it.
func TestBootChainCorpusCases(t *testing.T) {
	const (
		msCA      = "Microsoft Corporation UEFI CA 2011"
		boot      = policy.ClassBootloader
		kernel    = policy.ClassKernel
		canonical = "Canonical Ltd. Master Certificate Authority"
	)
	tests := []struct {
		name string
		want []chainImage
	}{
		// shim + GRUB: Debian (shim signed by a private db key), Ubuntu,
		// Fedora, Red Hat (newer shim: authority before its image).
		{"python3-uefi-eventlog/intel-svr", []chainImage{{boot, "James Bottomley UEFI Application Key"}, {boot, "Debian Secure Boot CA"}, {kernel, "Debian Secure Boot CA (inferred)"}}},
		{"python3-uefi-eventlog/ubuntu-qemu", []chainImage{{boot, msCA}, {boot, canonical}, {kernel, canonical + " (inferred)"}}},
		{"keylime-tests/mb-log-secureboot", []chainImage{{boot, msCA}, {boot, "Fedora Secure Boot CA"}, {kernel, "Fedora Secure Boot CA (inferred)"}, {kernel, "Fedora Secure Boot CA (inferred)"}}},
		{"tpm2-tools/event-moklisttrusted", []chainImage{{boot, msCA}, {boot, "Red Hat Secure Boot CA 5"}, {kernel, "Red Hat Secure Boot CA 5 (inferred)"}, {kernel, "Red Hat Secure Boot CA 5 (inferred)"}}},
		// shim logging no GRUB events; the kernel signed by a MOK.
		{"HIRS/laptop-default", []chainImage{{boot, msCA}, {boot, "CentOS Secure Boot CA 2"}, {kernel, "lareine"}}},
		{"fwupd/binary-bios-measurements-v2", []chainImage{{boot, ""}, {boot, msCA}, {boot, canonical}, {kernel, canonical}}},
		// systemd-boot starting a kernel by its EFI stub, and a UKI; on
		// the t480s the firmware verified both with the db key it logged
		// once, for systemd-boot.
		{"tpm2-tools/event-arch-linux", []chainImage{{boot, ""}, {kernel, ""}}},
		{"sbctl/t480s", []chainImage{{boot, "Database Key"}, {boot, "Database Key (inferred)"}, {kernel, "Database Key (inferred)"}}},
		// A UKI the firmware starts, and the kernel systemd-stub starts.
		{"cvm-measure/azure-snp-ncc40ads-h100-v5", []chainImage{{kernel, ""}, {kernel, ""}}},
	}
	cases := map[string]corpus.Case{}
	for _, c := range corpus.Cases(t) {
		cases[c.Name] = c
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := cases[tt.name]
			if !ok {
				t.Skipf("corpus case %s absent", tt.name)
			}
			if diff := cmp.Diff(tt.want, corpusChain(t, c.Log)); diff != "" {
				t.Errorf("PCR 4 images (-want +got):\n%s", diff)
			}
		})
	}
}

// corpusChain reads a real log's PCR 4 images, every event taken as proven.
func corpusChain(t *testing.T, raw []byte) []chainImage {
	t.Helper()
	log, err := eventlog.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := uefi.SecureBootState(log.Events)
	if err != nil {
		t.Fatal(err)
	}
	var got []chainImage
	for _, c := range extractComponents(log.Events, func(int) []eventlog.Alg { return nil }, nil, sb.Authorities) {
		if c.PCR == 4 {
			au := c.Authority
			if c.AuthorityInferred {
				au += " (inferred)"
			}
			got = append(got, chainImage{c.Class, au})
		}
	}
	return got
}

// TestBootChainRules checks each rule on a minimal boot: the events
// around an image decide its class.
func TestBootChainRules(t *testing.T) {
	img := func(path string) eventlog.Event {
		if path == "" {
			return eventlog.Event{PCR: 4, Type: eventlog.EvEFIBootServicesApplication, Data: memoryImage(1)}
		}
		return eventlog.Event{PCR: 4, Type: eventlog.EvEFIBootServicesApplication, Data: imageLoadEvent(path)}
	}
	ipl := func(pcr int, s string) eventlog.Event {
		return eventlog.Event{PCR: pcr, Type: eventlog.EvIPL, Data: []byte(s + "\x00")}
	}
	sep := eventlog.Event{PCR: 4, Type: eventlog.EvSeparator, Data: separator}
	stubTag := eventlog.Event{PCR: 9, Type: eventlog.EvEventTag, Data: []byte{0xec, 0x22, 0x3b, 0x8f, 4, 0, 0, 0, 'i', 'n', 'i', 't'}}
	const boot, kernel = policy.ClassBootloader, policy.ClassKernel
	tests := []struct {
		name   string
		events []eventlog.Event
		want   []string // classes of the images and "file NAME" of the kernel files, in order
	}{
		{"GRUB alone, then its kernel", []eventlog.Event{sep, img(`\EFI\debian\grubx64.efi`), ipl(8, "grub_cmd: linux /boot/kernel ro"), ipl(9, "/boot/kernel"), img("")}, []string{boot, "file /boot/kernel", kernel}},
		{"GRUB's module loads are not the kernel file", []eventlog.Event{sep, img(`\EFI\BOOT\BOOTX64.EFI`), ipl(8, "grub_cmd: linux /vmlinuz ro"), ipl(9, "(hd0,gpt1)/boot/grub/x86_64-efi/linux.mod"), ipl(9, "(hd0,gpt2)/vmlinuz")}, []string{boot, "file (hd0,gpt2)/vmlinuz"}},
		{"direct EFI stub from the boot option", []eventlog.Event{sep, img(`\EFI\BOOT\BOOTX64.EFI`), stubTag}, []string{kernel}},
		{"EFI stub after GRUB tags no boot loader", []eventlog.Event{sep, img(`\EFI\BOOT\grubx64.efi`), ipl(8, "grub_cmd: linux /vmlinuz-6.1"), ipl(9, "/vmlinuz-6.1"), stubTag}, []string{boot, "file /vmlinuz-6.1"}},
		{"UKI from the boot option, then its kernel", []eventlog.Event{sep, img(`\EFI\BOOT\BOOTX64.EFI`), ipl(11, ".linux"), img("")}, []string{kernel, kernel}},
		{"systemd-boot then a UKI", []eventlog.Event{sep, img(`\EFI\systemd\systemd-bootx64.efi`), img(`\EFI\Linux\arch-linux.efi`)}, []string{boot, kernel}},
		{"shim and GRUB, no GRUB events", []eventlog.Event{sep, img(`\EFI\debian\shimx64.efi`), img(""), ipl(14, "MokList"), img("")}, []string{boot, boot, kernel}},
		{"two loaders, no shim", []eventlog.Event{sep, img(`\EFI\BOOT\BOOTX64.EFI`), img(`\EFI\BOOT\grubx64.efi`), img(`\EFI\BOOT\other.efi`)}, []string{boot, boot, boot}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range craftedComponents(tt.events) {
				switch {
				case c.PCR == 4:
					got = append(got, c.Class)
				case c.Class == kernel:
					got = append(got, "file "+c.Name)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInitrdRules checks that the files GRUB's `initrd` command named are
// the initramfs whatever their name, and that other files stay the boot
// loader's configuration.
func TestInitrdRules(t *testing.T) {
	ipl := func(pcr int, s string) eventlog.Event {
		return eventlog.Event{PCR: pcr, Type: eventlog.EvIPL, Data: []byte(s + "\x00")}
	}
	tests := []struct {
		name   string
		events []eventlog.Event
		want   []string // "class name" of each PCR 9 component, in order
	}{
		{"initrd named by the command", []eventlog.Event{ipl(8, "grub_cmd: initrd /boot/stateless.gz"), ipl(9, "/boot/stateless.gz")},
			[]string{"initrd /boot/stateless.gz"}},
		{"several files, with devices", []eventlog.Event{ipl(8, "grub_cmd: initrd (hd0,gpt2)/ucode.img (hd0,gpt2)/root.cpio"), ipl(9, "(hd0,gpt2)/ucode.img"), ipl(9, "(hd0,gpt2)/root.cpio")},
			[]string{"initrd (hd0,gpt2)/ucode.img", "initrd (hd0,gpt2)/root.cpio"}},
		{"Debian's initrdefi", []eventlog.Event{ipl(8, "grub_cmd: initrdefi /boot/img"), ipl(9, "/boot/img")}, []string{"initrd /boot/img"}},
		{"Red Hat's command", []eventlog.Event{ipl(8, "grub_cmd initrd (hd0,gpt2)/boot/img"), ipl(9, "grub_linuxefi Initrd")}, []string{"initrd grub_linuxefi Initrd"}},
		{"initrdfail is not initrd", []eventlog.Event{ipl(8, "grub_cmd: initrdfail"), ipl(9, "/boot/grub/grubenv")}, []string{"boot_config /boot/grub/grubenv"}},
		{"a file read before the command", []eventlog.Event{ipl(9, "/boot/img"), ipl(8, "grub_cmd: initrd /boot/img")}, []string{"boot_config /boot/img"}},
		{"each named file once", []eventlog.Event{ipl(8, "grub_cmd: initrd /img"), ipl(9, "/img"), ipl(9, "/img")}, []string{"initrd /img", "boot_config /img"}},
		// A multiboot kernel (Xen, the emulated ESXi-like chain) and
		// the modules GRUB loads for it.
		{"multiboot2 kernel and modules", []eventlog.Event{ipl(8, "grub_cmd: multiboot2 /boot/vmkernel-6.7 secureBoot=TRUE"), ipl(9, "/boot/vmkernel-6.7"),
			ipl(8, "grub_cmd: module2 /bundles/esx-base/s.v00"), ipl(9, "/bundles/esx-base/s.v00"),
			ipl(8, "grub_cmd: module2 --nounzip (hd0,gpt1)/bundles/tools/t.t00 arg"), ipl(9, "(hd0,gpt1)/bundles/tools/t.t00")},
			[]string{"kernel /boot/vmkernel-6.7", "modules /bundles/esx-base/s.v00", "modules (hd0,gpt1)/bundles/tools/t.t00"}},
		{"a module file read before its command", []eventlog.Event{ipl(9, "/bundles/x/y"), ipl(8, "grub_cmd: module2 /bundles/x/y")}, []string{"boot_config /bundles/x/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range craftedComponents(tt.events) {
				if c.PCR == 9 {
					got = append(got, c.Class+" "+c.Name)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PCR 9 components (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClassesCorpus names, in real logs, one event of each class that was
// unclassified or a "module" before the classes of issue 20.
func TestClassesCorpus(t *testing.T) {
	tests := []struct {
		log   string
		index int
		want  string // "class name"
	}{
		{"keylime-tests/mb-log", 104, "initrd (hd0,gpt2)/initramfs-6.11.4-301.fc41.x86_64.img"},
		{"go-tpm-tools/rhel8-uefi", 80, "initrd grub_linuxefi Initrd"},
		{"python3-uefi-eventlog/sr645", 46, "initrd /xcat/osimage/ubuntu18.04-x86_64-netboot-hostos-boot_bionic-4.15.0.1080-20210112-d8fafba/initrd-stateless.gz"},
		{"cvm-measure/azure-snp-ncc40ads-h100-v5", 36, "initrd Linux initrd"},
		{"cvm-measure/azure-snp-ncc40ads-h100-v5", 35, "boot_options LOADED_IMAGE::LoadOptions"},
		{"tpm2-tools/event-arch-linux", 24, "boot_options initrd=\\intel-ucode.img initrd=\\initramfs-linux-lts.img cryptdevice=UUID=5465369a-996d-42ca-9ad4-91d0082e0b34:cryptroot root=/dev/mapper/cryptroot rw intel_iommu=on iommu=pt l1tf=off"},
		{"python3-uefi-eventlog/ubuntu-qemu", 34, "boot_config (hd0,gpt15)/EFI/ubuntu/grub.cfg"},
		{"keylime-tests/mb-log", 103, "boot_commands grub_cmd: initrd (hd0,gpt2)/initramfs-6.11.4-301.fc41.x86_64.img"},
		{"go-tpm-tools/rhel8-uefi", 79, "boot_commands grub_cmd initrd (hd0,gpt2)/boot/initramfs-4.18.0-240.22.1.el8_3.x86_64.img"},
		{"go-tpm-tools/rhel8-uefi", 78, "boot_options grub_kernel_cmdline (hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64 root=UUID=f3948fb4-cce7-4193-940a-c50052e93bf3 ro net.ifnames=0 biosdevname=0 scsi_mod.use_blk_mq=Y crashkernel=auto console=ttyS0,38400n8"},
	}
	cases := map[string]corpus.Case{}
	for _, c := range corpus.Cases(t) {
		cases[c.Name] = c
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.log, tt.index), func(t *testing.T) {
			c, ok := cases[tt.log]
			if !ok {
				t.Skipf("corpus case %s absent", tt.log)
			}
			got := "not a component"
			for _, comp := range corpusComponents(t, c.Log) {
				if comp.EventIndex == tt.index {
					got = comp.Class + " " + comp.Name
				}
			}
			if got != tt.want {
				t.Errorf("event %d = %q, want %q", tt.index, got, tt.want)
			}
		})
	}
}

// corpusComponents classifies a real log, every event taken as proven.
func corpusComponents(t *testing.T, raw []byte) policy.Components {
	t.Helper()
	log, err := eventlog.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var auths []uefi.Authority
	if sb, err := uefi.SecureBootState(log.Events); err == nil {
		auths = sb.Authorities
	}
	return extractComponents(log.Events, func(int) []eventlog.Alg { return nil }, nil, auths)
}

// TestJudgedReference checks what the page shows of each component: with
// no reference values "not judged", with learnt ones the entry matched.
func TestJudgedReference(t *testing.T) {
	h := boot(t, testBanks, shimGrubBoot(t, kernelPE))
	appraise := func(p *policy.Policy) *Verdict {
		v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := appraise(policy.Default())
	for _, c := range first.Components {
		if c.Judged || c.Reference != "" {
			t.Errorf("%s %q: judged %v, reference %q with no reference values", c.Class, c.Name, c.Judged, c.Reference)
		}
	}
	learnt := policy.Learn(first.Components, nil)
	v := appraise(learnt)
	if v.Status != Passed {
		t.Fatalf("the learnt boot again: %s: %+v", v.Status, v.Failures())
	}
	for _, c := range v.Components {
		ref, ok, _ := learnt.Match(c)
		if !c.Judged || !ok || c.Reference != ref.String() {
			t.Errorf("%s %q: judged %v, reference %q, want judged and %q", c.Class, c.Name, c.Judged, c.Reference, ref.String())
		}
	}
	if len(learnt.References.Initrd) != 1 || learnt.References.Initrd[0].Label != "/boot/initrd.img-6.1.0-18-amd64" {
		t.Errorf("learnt initrd references = %+v, want the initramfs", learnt.References.Initrd)
	}
}

// craftedComponents classifies crafted events, numbered in order, with no
// bank proven.
func craftedComponents(events []eventlog.Event) policy.Components {
	events = slices.Clone(events)
	for i := range events {
		events[i].Index = i
	}
	return extractComponents(events, func(int) []eventlog.Alg { return nil }, nil, nil)
}
