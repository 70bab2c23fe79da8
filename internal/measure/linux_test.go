package measure

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// bzImage is a file with a Linux boot header whose kernel_version points
// at version (ptr 0: no version string).
func bzImage(ptr int, version string) []byte {
	b := make([]byte, 0x400)
	copy(b[setupHeaderMagicOff:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x20f)
	binary.LittleEndian.PutUint16(b[kernelVersionOff:], uint16(ptr))
	if ptr != 0 && ptr+kernelVersionBase < len(b) {
		copy(b[ptr+kernelVersionBase:], version)
	}
	return b
}

// TestKernelHeader reads the version of a kernel without an EFI stub and
// refuses damaged headers with the offset of the bad field.
func TestKernelHeader(t *testing.T) {
	unterminated := bzImage(0x1c0, "")
	for i := 0x3c0; i < len(unterminated); i++ {
		unterminated[i] = 'x'
	}
	tests := []struct {
		name   string
		b      []byte
		kind   Kind
		label  string
		part   string
		offset int64
	}{
		{"version string", bzImage(0x100, "6.1.0-28-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00"), KindKernel, "Linux 6.1.0-28-amd64", "", 0},
		{"no version string", bzImage(0, ""), KindKernel, "", "", 0},
		{"no boot header", []byte(strings.Repeat("initramfs ", 100)), KindFile, "", "", 0},
		{"version past the end", bzImage(0x300, ""), "", "", "Linux boot header", kernelVersionOff},
		{"no NUL", unterminated, "", "", "Linux kernel version", 0x3c0},
		{"not printable", bzImage(0x100, "6.1\x01\x00"), "", "", "Linux kernel version", 0x303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := File(tt.b)
			if tt.part == "" {
				if err != nil || r.Kind != tt.kind || r.Label != tt.label {
					t.Fatalf("File: %+v, %v; want kind %s label %q", r, err, tt.kind, tt.label)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Part != tt.part || fe.Offset != tt.offset {
				t.Errorf("File: %v, want a %s error at %#x", err, tt.part, tt.offset)
			}
		})
	}
}

// TestSBATText parses .sbat lines and refuses bad ones with their line.
func TestSBATText(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		label string
		err   string
	}{
		{"shim", "sbat,1,SBAT Version,sbat,1,https://x\nshim,4,UEFI shim,shim,1,https://x\nshim.debian,1,Debian,shim,16.1-1,https://x\n\x00\x00", "shim 16.1-1 (SBAT shim,4)", ""},
		{"no vendor entry", "sbat,1\nfoo,2,Vendor,foo,1.0,u\n", "foo 1.0 (SBAT foo,2)", ""},
		{"CRLF", "sbat,1\r\nfoo,2\r\n", "foo (SBAT foo,2)", ""},
		{"only the sbat line", "sbat,1,SBAT Version\n", "", ""},
		{"no generation", "sbat,1\ngrub\n", "", ".sbat line 2 at offset 0x107"},
		{"generation zero", "sbat,1\ngrub,0\n", "", `generation "0"`},
		{"control character", "sbat,1\ngrub,1,\x1b[31m\n", "", "not printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseSBAT([]byte(tt.text), 0x100)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseSBAT: %v, want an error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sbatLabel(e); got != tt.label {
				t.Errorf("label %q, want %q", got, tt.label)
			}
		})
	}
}
