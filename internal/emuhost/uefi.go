package emuhost

import (
	"encoding/binary"
	"unicode/utf16"

	"github.com/bootproof/bootproof/internal/uefi"
)

// The UEFI structures the emulated firmware logs. They are encoded here,
// privately, because package uefi (the verifier's parser of them) was being
// written at the same time; the layouts are those of the specs cited, and
// uefi_test.go checks them against package uefi's encoders and parser.

// guid is an EFI_GUID in its in-memory (mixed-endian) layout.
type guid [16]byte

// mustGUID turns a canonical GUID string into its EFI_GUID bytes: the first
// three fields little-endian, the last two as written (UEFI 2.10 Appendix A).
func mustGUID(s string) guid {
	var raw [16]byte
	j := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		raw[j/2] |= unhex(s[i]) << (4 * (1 - j%2))
		j++
	}
	if j != 32 {
		panic("emuhost: bad GUID literal " + s)
	}
	var g guid
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	panic("emuhost: bad hex digit in GUID literal")
}

var (
	// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, BootOrder, Boot####.
	efiGlobalVariable = mustGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx.
	efiImageSecurityDatabase = mustGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	// EFI_CERT_X509_GUID and EFI_CERT_SHA256_GUID: signature list types.
	efiCertX509   = mustGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	efiCertSHA256 = mustGUID("c1c41626-504c-4092-aca9-41f936934328")
	// signatureOwner is the SignatureOwner of every entry the emulated
	// platform vendor enrols (any GUID of the vendor's choosing): bootproof's,
	// as package uefi's encoders use.
	signatureOwner = guid(uefi.BootproofOwner)
)

// utf16le encodes s as UTF-16LE without a terminating NUL.
func utf16le(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

// variableData encodes UEFI_VARIABLE_DATA (TCG PC Client PFP §10.2.6):
// VariableName (GUID), UnicodeNameLength (UINT64, in characters),
// VariableDataLength (UINT64), UnicodeName (UTF-16LE, no NUL), VariableData.
func variableData(vendor guid, name string, data []byte) []byte {
	n := utf16le(name)
	out := append([]byte(nil), vendor[:]...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(n)/2))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(data)))
	out = append(out, n...)
	return append(out, data...)
}

// signatureData encodes one EFI_SIGNATURE_DATA (UEFI 2.10 §32.4.1):
// SignatureOwner then the signature (here a DER certificate or a hash).
func signatureData(owner guid, sig []byte) []byte {
	return append(append([]byte(nil), owner[:]...), sig...)
}

// signatureList encodes one EFI_SIGNATURE_LIST of the given type whose
// entries all have the same size (as the spec requires): SignatureType,
// SignatureListSize, SignatureHeaderSize (0), SignatureSize, entries.
func signatureList(typ guid, entries ...[]byte) []byte {
	if len(entries) == 0 {
		return nil
	}
	size := 16 + len(entries[0])
	out := append([]byte(nil), typ[:]...)
	out = binary.LittleEndian.AppendUint32(out, uint32(28+size*len(entries)))
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(size))
	for _, e := range entries {
		out = append(out, signatureData(signatureOwner, e)...)
	}
	return out
}

// x509Lists encodes certificates as EFI_SIGNATURE_LISTs, one per
// certificate since their sizes differ, concatenated as in a db variable.
func x509Lists(certsDER ...[]byte) []byte {
	var out []byte
	for _, c := range certsDER {
		out = append(out, signatureList(efiCertX509, c)...)
	}
	return out
}

// filePathDevicePath encodes a media file-path device path node (type 4,
// subtype 4, UTF-16LE path with NUL) and the end-of-path node (UEFI 2.10
// §10.3.5.4, §10.3.1).
func filePathDevicePath(path string) []byte {
	p := append(utf16le(path), 0, 0)
	out := []byte{4, 4}
	out = binary.LittleEndian.AppendUint16(out, uint16(4+len(p)))
	out = append(out, p...)
	return append(out, 0x7f, 0xff, 4, 0)
}

// imageLoadEvent encodes UEFI_IMAGE_LOAD_EVENT (PFP §10.2.3): the image's
// address and length in memory, its link-time address, and its device path.
func imageLoadEvent(addr, length uint64, devicePath []byte) []byte {
	var out []byte
	out = binary.LittleEndian.AppendUint64(out, addr)
	out = binary.LittleEndian.AppendUint64(out, length)
	out = binary.LittleEndian.AppendUint64(out, 0)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(devicePath)))
	return append(out, devicePath...)
}

// loadOption encodes an EFI_LOAD_OPTION (UEFI 2.10 §3.1.3), the data of a
// Boot#### variable: attributes (LOAD_OPTION_ACTIVE), the device path's
// length, the description (UTF-16LE with NUL) and the device path.
func loadOption(description string, devicePath []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 1)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(devicePath)))
	out = append(out, utf16le(description)...)
	out = append(out, 0, 0)
	return append(out, devicePath...)
}

// firmwareBlob encodes UEFI_PLATFORM_FIRMWARE_BLOB (PFP §10.2.4): base and
// length of the measured firmware volume.
func firmwareBlob(base, length uint64) []byte {
	out := binary.LittleEndian.AppendUint64(nil, base)
	return binary.LittleEndian.AppendUint64(out, length)
}
