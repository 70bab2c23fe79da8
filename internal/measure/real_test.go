package measure

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// sbOnLog is the event log of e2e/qemu's Secure Boot-on boot of Debian's
// signed shim, GRUB and cloud kernel.
const sbOnLog = "../appraisal/testdata/debian-qemu/sb-on/eventlog.bin"

// kernelCache is where e2e/qemu keeps the Debian kernel packages it
// downloaded (BOOTPROOF_QEMU_CACHE, else the user's cache folder).
func kernelCache() string {
	if d := os.Getenv("BOOTPROOF_QEMU_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "bootproof-qemu")
}

// TestRealBootMeasured computes the measurements of the real files the
// recorded boot started and compares them with what its firmware, shim and
// GRUB extended: the PCR 4 Authenticode digests of shim, GRUB and the
// kernel's EFI stub, and the PCR 9 digest of the kernel file GRUB read, in
// both of the log's banks. A file that is not installed, or is another
// build than the one booted (its label says), skips its case.
func TestRealBootMeasured(t *testing.T) {
	logBytes, err := os.ReadFile(sbOnLog)
	if err != nil {
		t.Fatalf("the recorded Debian boot: %v", err)
	}
	log, err := eventlog.Parse(logBytes)
	if err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(kernelCache(), "linux-image-6.1.0-57-cloud-amd64", "boot", "vmlinuz-6.1.0-57-cloud-amd64")
	tests := []struct {
		name, path, label string
		kind              Kind
		event, pcr        int // the event that measured it
	}{
		{"shim", "/usr/lib/shim/shimx64.efi.signed", "shim 16.1 (SBAT shim,4)", KindEFIImage, 23, PCRImages},
		{"GRUB", "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "grub 2.06-13+deb12u2 (SBAT grub,5)", KindEFIImage, 29, PCRImages},
		{"kernel image", kernel, "Linux 6.1.0-57-cloud-amd64", KindEFIKernel, 39, PCRImages},
		{"kernel file", kernel, "Linux 6.1.0-57-cloud-amd64", KindEFIKernel, 38, PCRFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(tt.path)
			if err != nil {
				t.Skipf("%s is not here (install shim-signed and grub-efi-amd64-signed, or run e2e/qemu to download the kernel): %v", tt.name, err)
			}
			r, err := File(b)
			if err != nil {
				t.Fatalf("File(%s): %v", tt.path, err)
			}
			if r.Label != tt.label {
				t.Skipf("%s: installed %q, the recorded boot booted %q: another build, other digests", tt.name, r.Label, tt.label)
			}
			if r.Kind != tt.kind {
				t.Errorf("kind %s, want %s", r.Kind, tt.kind)
			}
			m, ok := r.Measurement(tt.pcr)
			if !ok {
				t.Fatalf("no PCR %d measurement: %+v", tt.pcr, r.Measurements)
			}
			e := log.Events[tt.event]
			if e.PCR != tt.pcr {
				t.Fatalf("event %d is in PCR %d, the test expects PCR %d", tt.event, e.PCR, tt.pcr)
			}
			for bank, got := range map[eventlog.Alg]string{eventlog.SHA1: m.Digests.SHA1, eventlog.SHA256: m.Digests.SHA256} {
				want, _ := e.Digest(bank)
				if got != hex.EncodeToString(want) {
					t.Errorf("PCR %d %s: computed %s, the boot measured %x (event %d)", tt.pcr, bank, got, want, tt.event)
				}
			}
		})
	}
}
