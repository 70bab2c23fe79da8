package measure

import (
	"os"
	"testing"
)

// FuzzFile feeds damaged files to File: an error or a result, never a
// panic. The seeds are the built PE image, a kernel boot header and the
// first pages of GRUB.
func FuzzFile(f *testing.F) {
	f.Add(newTestPE().b)
	f.Add(bzImage(0x100, "6.1.0\x00"))
	f.Add([]byte("MZ"))
	if b, err := os.ReadFile("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"); err == nil {
		f.Add(b[:min(len(b), 8192)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := File(b)
		if err == nil && len(r.Measurements) == 0 {
			t.Fatal("a result without measurements")
		}
	})
}

// FuzzHeaders feeds the Linux boot header and .sbat readers directly.
func FuzzHeaders(f *testing.F) {
	f.Add(bzImage(0x100, "6.1.0\x00"), []byte(tpSbatText))
	f.Fuzz(func(t *testing.T, kernel, sbat []byte) {
		_, _, _ = kernelVersion(kernel, 0)
		if e, err := parseSBAT(sbat, 0); err == nil {
			_ = sbatLabel(e)
		}
	})
}
