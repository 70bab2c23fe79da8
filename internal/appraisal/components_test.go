package appraisal

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// TestClassify covers the measurement conventions of the real boot chains
// in the corpus and of the emulated one.
func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		pcr       int
		typ       eventlog.EventType
		data      []byte
		wantClass string
		wantName  string
		// wantProven: the event's digest is a hash of the data the name
		// is read from (datadigest.go).
		wantProven bool
	}{
		{"CRTM version", 0, eventlog.EvSCRTMVersion, utf16z("GCE Virtual Firmware v1"), policy.ClassFirmware, "EV_S_CRTM_VERSION GCE Virtual Firmware v1", true},
		{"PCR 0 separator", 0, eventlog.EvSeparator, separator, "", "", true},
		{"shim by file path", 4, eventlog.EvEFIBootServicesApplication, imageLoadEvent(`\EFI\ubuntu\shimx64.efi`), policy.ClassBootloader, `\EFI\ubuntu\shimx64.efi`, false},
		{"image from memory", 4, eventlog.EvEFIBootServicesApplication, make([]byte, 40), policy.ClassBootloader, "EFI application without a file path", false},
		{"upstream GRUB kernel file", 9, eventlog.EvIPL, []byte("/boot/vmlinuz-5.11.0-1006-gcp\x00"), policy.ClassKernel, "/boot/vmlinuz-5.11.0-1006-gcp", false},
		{"COS kernel file", 9, eventlog.EvIPL, []byte("/syslinux/vmlinuz.A\x00"), policy.ClassKernel, "/syslinux/vmlinuz.A", false},
		{"upstream GRUB initrd", 9, eventlog.EvIPL, []byte("/boot/initrd.img-5.11.0\x00"), policy.ClassInitrd, "/boot/initrd.img-5.11.0", false},
		{"GRUB config file", 9, eventlog.EvIPL, []byte("/efi/boot/grub.cfg\x00"), policy.ClassBootConfig, "/efi/boot/grub.cfg", false},
		{"GRUB environment", 9, eventlog.EvIPL, []byte("(hd0,gpt1)/boot/grub/grubenv\x00"), policy.ClassBootConfig, "(hd0,gpt1)/boot/grub/grubenv", false},
		{"GRUB module list", 9, eventlog.EvIPL, []byte("(hd0,gpt1)/boot/grub/x86_64-efi/fs.lst\x00"), policy.ClassBootConfig, "(hd0,gpt1)/boot/grub/x86_64-efi/fs.lst", false},
		{"initramfs by name", 9, eventlog.EvIPL, []byte("(hd0,gpt2)/initramfs-6.11.4-301.fc41.x86_64.img\x00"), policy.ClassInitrd, "(hd0,gpt2)/initramfs-6.11.4-301.fc41.x86_64.img", false},
		{"Red Hat kernel", 9, eventlog.EvIPL, []byte("grub_linuxefi Kernel\x00"), policy.ClassKernel, "grub_linuxefi Kernel", false},
		{"Red Hat initrd", 9, eventlog.EvIPL, []byte("grub_linuxefi Initrd\x00"), policy.ClassInitrd, "grub_linuxefi Initrd", false},
		{"upstream GRUB command line", 8, eventlog.EvIPL, []byte("kernel_cmdline: /boot/vmlinuz ro\x00"), policy.ClassBootOptions, "kernel_cmdline: /boot/vmlinuz ro", true},
		{"Red Hat command line", 8, eventlog.EvIPL, []byte("grub_kernel_cmdline (hd0,gpt2)/boot/vmlinuz ro\x00"), policy.ClassBootOptions, "grub_kernel_cmdline (hd0,gpt2)/boot/vmlinuz ro", true},
		{"GRUB command", 8, eventlog.EvIPL, []byte("grub_cmd: set timeout=0\x00"), policy.ClassBootCmds, "grub_cmd: set timeout=0", true},
		{"GRUB linux command", 8, eventlog.EvIPL, []byte("grub_cmd: linux /vmlinuz ro\x00"), policy.ClassBootCmds, "grub_cmd: linux /vmlinuz ro", true},
		{"GRUB initrdfail command", 8, eventlog.EvIPL, []byte("grub_cmd: initrdfail\x00"), policy.ClassBootCmds, "grub_cmd: initrdfail", true},
		{"Red Hat GRUB command", 8, eventlog.EvIPL, []byte("grub_cmd set_global load_initrd_cmd initrd\x00"), policy.ClassBootCmds, "grub_cmd set_global load_initrd_cmd initrd", false},
		{"systemd-boot command line in PCR 8", 8, eventlog.EvIPL, utf16z("initrd=\\initramfs-linux.img rw quiet"), policy.ClassBootOptions, "initrd=\\initramfs-linux.img rw quiet", false},
		{"other PCR 8 text", 8, eventlog.EvIPL, []byte("something else\x00"), "", "", false},
		{"EFI stub initrd", 9, eventlog.EvEventTag, stubTag(0x8F3B22EC, "Linux initrd\x00"), policy.ClassInitrd, "Linux initrd", false},
		{"EFI stub load options", 9, eventlog.EvEventTag, stubTag(0x8F3B22ED, "LOADED_IMAGE::LoadOptions\x00"), policy.ClassBootOptions, "LOADED_IMAGE::LoadOptions", false},
		{"EFI stub tag, size past the data", 9, eventlog.EvEventTag, stubTag(0x8F3B22EC, "Linux initrd")[:12], policy.ClassInitrd, "", false},
		{"other tag in PCR 9", 9, eventlog.EvEventTag, stubTag(0x12345678, "x"), "", "", false},
		{"short tag", 9, eventlog.EvEventTag, []byte{0xec, 0x22, 0x3b, 0x8f}, "", "", false},
		{"systemd-stub command line", 12, eventlog.EvIPL, utf16z(" console=ttyS0 "), policy.ClassBootOptions, "console=ttyS0", false},
		{"a multiboot module's command line", 8, eventlog.EvIPL, []byte("module_cmdline: /bundles/esx-base/s.v00\x00"), policy.ClassBootOptions, "module_cmdline: /bundles/esx-base/s.v00", true},
		{"control characters", 9, eventlog.EvIPL, []byte("/boot/vmlinuz\x1b[2J\x00"), policy.ClassKernel, "/boot/vmlinuz?[2J", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := eventlog.Event{Index: 7, PCR: tt.pcr, Type: tt.typ, Data: tt.data,
				Digests: []eventlog.Digest{{Alg: eventlog.SHA256, Value: sha(tt.data)}, {Alg: eventlog.SHA1, Value: make([]byte, 20)}}}
			got := extractComponents([]eventlog.Event{e}, func(int) []eventlog.Alg { return []eventlog.Alg{eventlog.SHA256} }, nil, nil)
			var want policy.Components
			if tt.wantClass != "" {
				// Only the banks that proved the event give a digest.
				want = policy.Components{{Class: tt.wantClass, Name: tt.wantName, NameProven: tt.wantProven, PCR: tt.pcr, EventIndex: 7,
					Digests: map[string]string{"sha256": hexs(sha(tt.data))}}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("components mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// stubTag is a TCG_PCClientTaggedEvent as the Linux EFI stub logs it.
func stubTag(id uint32, desc string) []byte {
	out := binary.LittleEndian.AppendUint32(nil, id)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(desc)))
	return append(out, desc...)
}

// TestImagePathNodes: a device path whose file path is split over several
// nodes (a folder, then the file) reads as the path firmware opened.
func TestImagePathNodes(t *testing.T) {
	node := func(s string) []byte {
		p := utf16z(s)
		return append(binary.LittleEndian.AppendUint16([]byte{4, 4}, uint16(4+len(p))), p...)
	}
	event := func(nodes ...string) []byte {
		var dp []byte
		for _, n := range nodes {
			dp = append(dp, node(n)...)
		}
		dp = append(dp, 0x7f, 0xff, 4, 0)
		out := make([]byte, 24)
		out = binary.LittleEndian.AppendUint64(out, uint64(len(dp)))
		return append(out, dp...)
	}
	tests := []struct {
		nodes []string
		want  string
	}{
		{[]string{`\EFI\BOOT\BOOTX64.EFI`}, `\EFI\BOOT\BOOTX64.EFI`},
		{[]string{`\EFI\BOOT`, `BOOTX64.EFI`}, `\EFI\BOOT\BOOTX64.EFI`},
		{[]string{`\EFI\BOOT\`, `BOOTX64.EFI`}, `\EFI\BOOT\BOOTX64.EFI`},
		{[]string{`\EFI\BOOT`, `\BOOTX64.EFI`}, `\EFI\BOOT\BOOTX64.EFI`},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := imagePath(event(tt.nodes...)); got != tt.want {
			t.Errorf("nodes %q: path %q, want %q", tt.nodes, got, tt.want)
		}
	}
}
