package measure

import (
	"bytes"
	"crypto/sha256"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"os"
	"sort"
	"testing"
)

// referenceAuthenticode is a second, independent Authenticode SHA-256,
// on the standard library's PE reader: the one e2e/qemu used before this
// package. No module in the build has an Authenticode hasher to compare
// with (go-attestation names Authenticode only in Windows event names).
func referenceAuthenticode(b []byte) (string, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	opt := int(binary.LittleEndian.Uint32(b[0x3c:])) + 4 + 20
	var dirs int
	var sizeOfHeaders uint32
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		dirs, sizeOfHeaders = opt+112, h.SizeOfHeaders
	case *pe.OptionalHeader32:
		dirs, sizeOfHeaders = opt+96, h.SizeOfHeaders
	}
	checksum, certEntry := opt+64, dirs+4*8
	certSize := int(binary.LittleEndian.Uint32(b[certEntry+4:]))
	h := sha256.New()
	h.Write(b[:checksum])
	h.Write(b[checksum+4 : certEntry])
	h.Write(b[certEntry+8 : sizeOfHeaders])
	sections := append([]*pe.Section(nil), f.Sections...)
	sort.Slice(sections, func(i, j int) bool { return sections[i].Offset < sections[j].Offset })
	hashed := int(sizeOfHeaders)
	for _, s := range sections {
		if s.Size > 0 {
			h.Write(b[s.Offset : s.Offset+s.Size])
			hashed += int(s.Size)
		}
	}
	if rest := len(b) - certSize; rest > hashed {
		h.Write(b[hashed:rest])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestAuthenticodeCrossCheck compares Authenticode with the reference on
// every EFI image of Debian's shim-signed and grub-efi-amd64-signed found
// here and on the built image.
func TestAuthenticodeCrossCheck(t *testing.T) {
	images := map[string][]byte{"built": newTestPE().b}
	for _, p := range []string{
		"/usr/lib/shim/shimx64.efi.signed", "/usr/lib/shim/mmx64.efi.signed", "/usr/lib/shim/fbx64.efi.signed",
		"/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",
		"/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
	} {
		if b, err := os.ReadFile(p); err == nil {
			images[p] = b
		}
	}
	if len(images) == 1 {
		t.Log("no Debian EFI images here (install shim-signed and grub-efi-amd64-signed): only the built image is compared")
	}
	for name, b := range images {
		want, err := referenceAuthenticode(b)
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		got, err := Authenticode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.SHA256 != want {
			t.Errorf("%s: Authenticode SHA-256 %s, the reference computes %s", name, got.SHA256, want)
		}
	}
}
