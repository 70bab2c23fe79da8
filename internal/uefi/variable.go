package uefi

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// maxVariableName bounds a variable name, in UTF-16 code units. UEFI puts no
// limit; real names are a few characters.
const maxVariableName = 1024

// VariableData is a UEFI_VARIABLE_DATA (PFP §10.4.5, Table 17): the
// structure firmware measures for EV_EFI_VARIABLE_DRIVER_CONFIG,
// EV_EFI_VARIABLE_BOOT and EV_EFI_VARIABLE_AUTHORITY events.
type VariableData struct {
	VendorGUID GUID
	Name       string
	// Data is a slice of the bytes given to ParseVariableData.
	Data []byte
}

// ParseVariableData reads a UEFI_VARIABLE_DATA: VariableName (the vendor
// GUID), UnicodeNameLength and VariableDataLength (UINT64), the UTF-16LE
// name without terminator, and the data, which must end the structure.
func ParseVariableData(b []byte) (*VariableData, error) {
	v, extra, err := parseVariableData(b)
	if err != nil {
		return nil, err
	}
	if extra != 0 {
		return nil, fmt.Errorf("parse UEFI variable data %q: %d bytes after the %d data bytes", v.Name, extra, len(v.Data))
	}
	return v, nil
}

// parseVariableData reads a UEFI_VARIABLE_DATA and returns how many bytes
// follow it: shims before 15.3 logged authority events with one extra byte.
func parseVariableData(b []byte) (*VariableData, int, error) {
	const hdr = 16 + 8 + 8
	if len(b) < hdr {
		return nil, 0, fmt.Errorf("parse UEFI variable data: %d bytes, header needs %d", len(b), hdr)
	}
	var v VariableData
	copy(v.VendorGUID[:], b)
	nameLen := binary.LittleEndian.Uint64(b[16:])
	dataLen := binary.LittleEndian.Uint64(b[24:])
	if nameLen > maxVariableName {
		return nil, 0, fmt.Errorf("parse UEFI variable data: name of %d characters, limit %d", nameLen, maxVariableName)
	}
	rest := uint64(len(b) - hdr)
	if nameLen*2 > rest || dataLen > rest-nameLen*2 {
		return nil, 0, fmt.Errorf("parse UEFI variable data: name of %d characters and %d data bytes, only %d bytes follow the header", nameLen, dataLen, rest)
	}
	name := b[hdr : hdr+int(nameLen)*2]
	u := make([]uint16, nameLen)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(name[2*i:])
	}
	v.Name = string(utf16.Decode(u))
	start := hdr + int(nameLen)*2
	v.Data = b[start : start+int(dataLen) : start+int(dataLen)]
	return &v, int(rest - nameLen*2 - dataLen), nil
}

// EncodeVariableData builds the UEFI_VARIABLE_DATA firmware measures for a
// variable. guid is in registry form; it must be valid (a constant in the
// caller's code), and a malformed one panics.
func EncodeVariableData(guid, name string, data []byte) []byte {
	g := MustParseGUID(guid)
	u := utf16.Encode([]rune(name))
	out := make([]byte, 0, 32+2*len(u)+len(data))
	out = append(out, g[:]...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(u)))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(data)))
	for _, c := range u {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return append(out, data...)
}
