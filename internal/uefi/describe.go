package uefi

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// Describe returns a one-line, human-readable account of an event's data
// for dumps: the variable and its value, the image's device path, the text
// of boot loader events (GRUB commands, the kernel command line), the
// separator value. It reads untrusted data only to show it and never fails:
// what it cannot read it describes by size.
func Describe(e eventlog.Event) string {
	d := e.Data
	switch e.Type {
	case eventlog.EvNoAction:
		switch {
		case strings.HasPrefix(string(d), "Spec ID Event03\x00"):
			return "Spec ID Event03 (log header)"
		case strings.HasPrefix(string(d), "StartupLocality\x00") && len(d) == 17:
			return fmt.Sprintf("StartupLocality %d", d[16])
		}
		if i := strings.IndexByte(string(d), 0); i > 0 && printable(string(d[:i])) {
			return string(d[:i])
		}
	case eventlog.EvSeparator:
		return fmt.Sprintf("separator %x", d)
	case eventlog.EvEFIVariableDriverConfig, eventlog.EvEFIVariableBoot, eventlog.EvEFIVariableBoot2, eventlog.EvEFIVariableAuthority:
		if v, _, err := parseVariableData(d); err == nil {
			return describeVariable(e.Type, v)
		}
	case eventlog.EvEFIBootServicesApplication, eventlog.EvEFIBootServicesDriver, eventlog.EvEFIRuntimeServicesDriver:
		// UEFI_IMAGE_LOAD_EVENT (PFP §10.2.3): location, length, link-time
		// address, device path length, device path.
		if len(d) >= 32 {
			n := binary.LittleEndian.Uint64(d[24:])
			if n == 0 {
				// An image started from a buffer (GRUB and shim loading
				// the kernel) has no device path.
				return fmt.Sprintf("image of %d bytes loaded from memory (no device path)", binary.LittleEndian.Uint64(d[8:]))
			}
			if n <= uint64(len(d)-32) {
				return DevicePathText(d[32 : 32+n])
			}
		}
	case eventlog.EvEFIGPTEvent, eventlog.EvEFIGPTEvent2:
		// UEFI_GPT_DATA: a 92-byte header, then NumberOfPartitions (UINT64).
		if len(d) >= 100 {
			return fmt.Sprintf("GPT with %d partitions", binary.LittleEndian.Uint64(d[92:]))
		}
	case eventlog.EvEFIPlatformFirmwareBlob2:
		if len(d) >= 1 && int(d[0]) < len(d) && printable(string(d[1:1+d[0]])) {
			return fmt.Sprintf("firmware blob %q", d[1:1+d[0]])
		}
	case eventlog.EvEventTag:
		// TCG_PCClientTaggedEvent: taggedEventID, taggedEventDataSize, data.
		if len(d) >= 8 {
			n := binary.LittleEndian.Uint32(d[4:])
			if uint64(n) == uint64(len(d)-8) {
				if s, ok := text(d[8:]); ok {
					return fmt.Sprintf("tag 0x%x: %s", binary.LittleEndian.Uint32(d), s)
				}
			}
		}
	}
	if s, ok := text(d); ok {
		return s
	}
	return fmt.Sprintf("%d bytes", len(d))
}

func describeVariable(t eventlog.EventType, v *VariableData) string {
	name := v.Name
	switch {
	case v.Name == "SecureBoot" && len(v.Data) <= 1:
		return fmt.Sprintf("SecureBoot = %x", v.Data)
	case t == eventlog.EvEFIVariableAuthority:
		if len(v.Data) > 16 {
			if subject := certSubject(v.Data[16:]); subject != "" {
				return fmt.Sprintf("%s authority: %s", name, subject)
			}
		}
		if subject := certSubject(v.Data); subject != "" {
			return fmt.Sprintf("%s authority: %s", name, subject)
		}
		if s, ok := text(v.Data); ok {
			return fmt.Sprintf("%s authority: %s", name, s)
		}
	case v.Name == "BootOrder" && len(v.Data)%2 == 0:
		var parts []string
		for i := 0; i+1 < len(v.Data); i += 2 {
			parts = append(parts, fmt.Sprintf("%04X", binary.LittleEndian.Uint16(v.Data[i:])))
		}
		return "BootOrder = " + strings.Join(parts, ",")
	case strings.HasPrefix(v.Name, "Boot") && len(v.Name) == 8 && len(v.Data) >= 6:
		// EFI_LOAD_OPTION: Attributes, FilePathListLength, NUL-terminated
		// UTF-16 Description, FilePathList.
		desc, rest := utf16z(v.Data[6:])
		fp := int(binary.LittleEndian.Uint16(v.Data[4:]))
		out := fmt.Sprintf("%s: %q", v.Name, desc)
		if fp <= len(rest) {
			out += " " + DevicePathText(rest[:fp])
		}
		return out
	}
	if db, err := ParseSignatureLists(v.Data); err == nil && len(v.Data) > 0 {
		return fmt.Sprintf("%s: %d certificates, %d hashes", name, len(db.Certs), len(db.Hashes)+len(db.Other))
	}
	return fmt.Sprintf("%s (%s): %d bytes", name, v.VendorGUID, len(v.Data))
}

// maxPathNodes bounds the nodes DevicePathText reads.
const maxPathNodes = 64

// DevicePathText renders an EFI_DEVICE_PATH_PROTOCOL (UEFI 2.10 §10.3) in
// the spirit of its text form, for the node types boot logs commonly hold;
// others show as Node(type,subtype).
func DevicePathText(b []byte) string {
	var parts []string
	for n := 0; len(b) >= 4 && n < maxPathNodes; n++ {
		typ, sub := b[0], b[1]
		size := int(binary.LittleEndian.Uint16(b[2:]))
		if size < 4 || size > len(b) {
			parts = append(parts, "(malformed)")
			break
		}
		data := b[4:size]
		b = b[size:]
		switch {
		case typ == 0x7f: // end of path or instance
			if sub == 0xff {
				return join(parts)
			}
			parts = append(parts, ",")
		case typ == 0x04 && sub == 0x04: // file path
			s, _ := utf16z(data)
			parts = append(parts, s)
		case typ == 0x04 && sub == 0x01 && len(data) >= 4: // hard drive
			parts = append(parts, fmt.Sprintf("HD(%d)", binary.LittleEndian.Uint32(data)))
		case typ == 0x04 && (sub == 0x06 || sub == 0x07) && len(data) >= 16: // PIWG firmware file / volume
			var g GUID
			copy(g[:], data)
			parts = append(parts, map[byte]string{6: "FvFile", 7: "Fv"}[sub]+"("+g.String()+")")
		case typ == 0x04 && sub == 0x08 && len(data) >= 20: // relative offset range: 4 reserved bytes, start, end
			parts = append(parts, fmt.Sprintf("Offset(0x%x,0x%x)", binary.LittleEndian.Uint64(data[4:]), binary.LittleEndian.Uint64(data[12:])))
		case typ == 0x01 && sub == 0x01 && len(data) >= 2:
			parts = append(parts, fmt.Sprintf("Pci(0x%x,0x%x)", data[1], data[0]))
		case typ == 0x02 && sub == 0x01 && len(data) >= 8:
			if binary.LittleEndian.Uint32(data) == 0x0a0341d0 {
				parts = append(parts, fmt.Sprintf("PciRoot(0x%x)", binary.LittleEndian.Uint32(data[4:])))
			} else {
				parts = append(parts, fmt.Sprintf("Acpi(0x%x,0x%x)", binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:])))
			}
		case typ == 0x03:
			names := map[byte]string{0x01: "Ata", 0x02: "Scsi", 0x05: "USB", 0x0b: "MAC", 0x0c: "IPv4", 0x0d: "IPv6", 0x12: "Sata", 0x17: "NVMe", 0x18: "Uri"}
			if s, ok := names[sub]; ok {
				parts = append(parts, s)
			} else {
				parts = append(parts, fmt.Sprintf("Msg(%d)", sub))
			}
		default:
			parts = append(parts, fmt.Sprintf("Node(%d,%d)", typ, sub))
		}
	}
	return join(parts)
}

func join(parts []string) string {
	s := strings.Join(parts, "/")
	return strings.ReplaceAll(s, "/,/", ", ")
}

// utf16z decodes a NUL-terminated UTF-16LE string and returns what follows.
func utf16z(b []byte) (string, []byte) {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), b[i+2:]
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), nil
}

// text returns data as text when it is printable UTF-8 or UTF-16LE, with
// trailing NULs removed.
func text(d []byte) (string, bool) {
	s := strings.TrimRight(string(d), "\x00")
	if s == "" {
		return "", false
	}
	if utf8.ValidString(s) && printable(s) {
		return s, true
	}
	if len(d)%2 == 0 && len(d) >= 4 {
		if u, _ := utf16z(d); u != "" && printable(u) && len(u)*2 >= len(strings.TrimRight(string(d), "\x00"))-1 {
			return u, true
		}
	}
	return "", false
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' {
			return false
		}
	}
	return true
}

// certSubject reads a DER certificate's subject, or "" when it has none.
func certSubject(der []byte) string {
	c := parseCert(GUID{}, der)
	c.ReadNames()
	return c.Subject
}
