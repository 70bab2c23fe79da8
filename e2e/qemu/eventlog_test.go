package qemu

import (
	"bytes"
	"crypto/sha256"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
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
// UEFI firmware and shim extend into PCR 4 for each image they start (the
// Windows Authenticode PE specification: the headers without the checksum
// and the certificate table entry, the sections in file order, then what
// follows them except the signatures).
func authenticode(t *testing.T, path string) string {
	t.Helper()
	d, err := authenticodeDigest(path)
	if err != nil {
		t.Fatalf("authenticode digest of %s: %v", path, err)
	}
	return d
}

func authenticodeDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return authenticodeOf(b)
}

func authenticodeOf(b []byte) (string, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	if len(b) < 0x40 {
		return "", fmt.Errorf("too short for a PE image")
	}
	opt := int(binary.LittleEndian.Uint32(b[0x3c:])) + 4 + 20 // PE signature, COFF header
	var dirs int
	var sizeOfHeaders uint32
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		dirs, sizeOfHeaders = opt+112, h.SizeOfHeaders
	case *pe.OptionalHeader32:
		dirs, sizeOfHeaders = opt+96, h.SizeOfHeaders
	default:
		return "", fmt.Errorf("no optional header")
	}
	checksum := opt + 64
	certEntry := dirs + 4*8 // data directory 4: the certificate table
	if checksum+4 > certEntry || certEntry+8 > int(sizeOfHeaders) || int(sizeOfHeaders) > len(b) {
		return "", fmt.Errorf("headers out of range")
	}
	certSize := int(binary.LittleEndian.Uint32(b[certEntry+4:]))
	h := sha256.New()
	h.Write(b[:checksum])
	h.Write(b[checksum+4 : certEntry])
	h.Write(b[certEntry+8 : sizeOfHeaders])
	sections := append([]*pe.Section(nil), f.Sections...)
	sort.Slice(sections, func(i, j int) bool { return sections[i].Offset < sections[j].Offset })
	hashed := int(sizeOfHeaders)
	for _, s := range sections {
		if s.Size == 0 {
			continue
		}
		end := int(s.Offset) + int(s.Size)
		if end > len(b) {
			return "", fmt.Errorf("section %s out of range", s.Name)
		}
		h.Write(b[s.Offset:end])
		hashed += int(s.Size)
	}
	if rest := len(b) - certSize; rest > hashed {
		h.Write(b[hashed:rest])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FuzzAuthenticode feeds damaged PE images to the digest: an error, never a
// panic.
func FuzzAuthenticode(f *testing.F) {
	if b, err := os.ReadFile(grubEFI); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add([]byte("MZ"))
	f.Add(append([]byte("MZ"), make([]byte, 0x100)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = authenticodeOf(b)
	})
}
