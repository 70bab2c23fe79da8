package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/measure"
)

// dumpedEvent is one event of 'bootproof eventlog dump --json'.
type dumpedEvent struct {
	Index       int               `json:"index"`
	PCR         int               `json:"pcr"`
	Type        string            `json:"type"`
	Digests     map[string]string `json:"digests"`
	Description string            `json:"description"`
}

// checkEventLog shows the guest's real event log with 'bootproof eventlog
// dump' and checks that it reads as a user would expect: shim, GRUB and the
// kernel in PCR 4 with the Authenticode digests of the files on the ESP,
// GRUB's commands and the kernel command line in PCR 8, and the files GRUB
// read in PCR 9 with their SHA-256.
func checkEventLog(t *testing.T, dir string, log []byte, banks, esp, initrd string, k kernel) {
	t.Helper()
	path := writeTemp(t, dir, "eventlog.bin", log)
	text, err := exec.Command(bootproofBin, "eventlog", "dump", path).CombinedOutput()
	if err != nil {
		t.Fatalf("bootproof eventlog dump: %v\n%s", err, text)
	}
	t.Logf("bootproof eventlog dump of the Secure Boot-on guest's log:\n%s", text)
	js, err := exec.Command(bootproofBin, "eventlog", "dump", "--json", path).Output()
	if err != nil {
		t.Fatalf("bootproof eventlog dump --json: %v", err)
	}
	var doc struct {
		Banks  []string      `json:"banks"`
		Events []dumpedEvent `json:"events"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("bootproof eventlog dump --json: %v", err)
	}
	if got := strings.Join(doc.Banks, ","); got != banks {
		t.Errorf("event log dump: banks %s, want the TPM's %s", got, banks)
	}
	grubCfg, err := os.ReadFile(esp + ".grub.cfg")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		what   string
		pcr    int
		desc   string // the description contains it
		digest string // hex SHA-256, "" for any
	}{
		{"Secure Boot state", 7, "SecureBoot = 01", ""},
		{"db certificate that authorised shim", 7, "db authority: CN=Microsoft Corporation UEFI CA 2011", ""},
		{"shim's certificate that authorised GRUB and the kernel", 7, "MokListRT authority: CN=Debian Secure Boot CA", ""},
		{"shim", 4, `\EFI\BOOT\BOOTX64.EFI`, authenticode(t, shimEFI)},
		{"GRUB", 4, `\EFI\BOOT\grubx64.efi`, authenticode(t, grubEFI)},
		{"the kernel image, which GRUB starts from memory", 4, "loaded from memory (no device path)", authenticode(t, k.vmlinuz)},
		{"GRUB reading its configuration", 8, "grub_cmd: source (hd0)/EFI/debian/grub.cfg", ""},
		{"GRUB's linuxefi command", 8, "grub_cmd: linuxefi /vmlinuz console=ttyS0", ""},
		{"the kernel command line", 8, "kernel_cmdline: /vmlinuz console=ttyS0", ""},
		{"GRUB's initrdefi command", 8, "grub_cmd: initrdefi /initrd.img", ""},
		{"grub.cfg", 9, "(hd0)/EFI/debian/grub.cfg", sha256Hex(grubCfg)},
		{"the kernel file", 9, "/vmlinuz", sha256File(t, k.vmlinuz)},
		{"the initramfs file", 9, "/initrd.img", sha256File(t, initrd)},
	}
	for _, tt := range tests {
		found := false
		for _, e := range doc.Events {
			if e.PCR == tt.pcr && strings.Contains(e.Description, tt.desc) && (tt.digest == "" || e.Digests["sha256"] == tt.digest) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("event log dump: no PCR %d event for %s (description %q, sha256 %q)", tt.pcr, tt.what, tt.desc, tt.digest)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// authenticode is the SHA-256 Authenticode digest of a PE image, the digest
// UEFI firmware and shim extend into PCR 4 for each image they start, as
// internal/measure (and so 'bootproof measure') computes it.
func authenticode(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := measure.Authenticode(b)
	if err != nil {
		t.Fatalf("authenticode digest of %s: %v", path, err)
	}
	return d.SHA256
}
