package uefi_test

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

func node(typ, sub byte, data []byte) []byte {
	b := []byte{typ, sub, 0, 0}
	binary.LittleEndian.PutUint16(b[2:], uint16(4+len(data)))
	return append(b, data...)
}

func ucs2z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

func TestDescribe(t *testing.T) {
	hd := make([]byte, 38)
	binary.LittleEndian.PutUint32(hd, 1)
	path := append(append(append(node(2, 1, []byte{0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0}), node(1, 1, []byte{0, 3})...),
		node(4, 1, hd)...), node(4, 4, ucs2z(`\EFI\BOOT\BOOTX64.EFI`))...)
	path = append(path, node(0x7f, 0xff, nil)...)
	image := make([]byte, 32)
	binary.LittleEndian.PutUint64(image[24:], uint64(len(path)))
	image = append(image, path...)
	tagged := binary.LittleEndian.AppendUint32(nil, 0x8f3b22ed)
	tagged = binary.LittleEndian.AppendUint32(tagged, 9)
	tagged = append(tagged, "initrd=x\x00"...)

	tests := []struct {
		typ  eventlog.EventType
		data []byte
		want string
	}{
		{eventlog.EvSeparator, []byte{0, 0, 0, 0}, "separator 00000000"},
		{eventlog.EvEFIVariableDriverConfig, uefi.EncodeVariableData("8be4df61-93ca-11d2-aa0d-00e098032b8c", "SecureBoot", []byte{0}), "SecureBoot = 00"},
		{eventlog.EvEFIBootServicesApplication, image, `PciRoot(0x0)/Pci(0x3,0x0)/HD(1)/\EFI\BOOT\BOOTX64.EFI`},
		{eventlog.EvIPL, []byte("kernel_cmdline: ro quiet\x00"), "kernel_cmdline: ro quiet"},
		{eventlog.EvEventTag, tagged, "tag 0x8f3b22ed: initrd=x"},
		{eventlog.EvSCRTMVersion, ucs2z("1.0"), "1.0"},
		{eventlog.EvNoAction, []byte("StartupLocality\x00\x03"), "StartupLocality 3"},
		{eventlog.EvEFIBootServicesApplication, image[:40], "40 bytes"},
		{eventlog.EvPostCode, []byte{0xff, 0x01}, "2 bytes"},
	}
	for _, tt := range tests {
		if got := uefi.Describe(eventlog.Event{Type: tt.typ, Data: tt.data}); got != tt.want {
			t.Errorf("Describe(%v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}
