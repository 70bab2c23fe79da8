package uefi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is an EFI_GUID in its in-memory (mixed-endian) byte order.
type GUID [16]byte

// Well-known GUIDs (UEFI 2.10 §3.3 and §32.4.1).
var (
	// GlobalVariable owns SecureBoot, PK, KEK, SetupMode, Boot####.
	GlobalVariable = MustParseGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	// ImageSecurityDatabase owns db, dbx, dbt, dbr.
	ImageSecurityDatabase = MustParseGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	CertX509              = MustParseGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	CertSHA256            = MustParseGUID("c1c41626-504c-4092-aca9-41f936934328")
	CertSHA1              = MustParseGUID("826ca512-cf10-4ac9-b187-be01496631bd")
	CertSHA384            = MustParseGUID("ff3e5307-9fd0-48c9-85f1-8ad56c701e01")
	CertSHA512            = MustParseGUID("093e0fae-a6c4-4f50-9f1b-d41e2b89c19a")
	CertRSA2048           = MustParseGUID("3c5766e8-269c-4e34-aa14-ed776e85b3b6")
	// ShimLock owns shim's MokList, MokListX, SbatLevel and Shim vendor
	// certificate authority events.
	ShimLock = MustParseGUID("605dab50-e046-4300-abb6-3dd810dd8b23")
	// BootproofOwner is the SignatureOwner EncodeSignatureList writes.
	BootproofOwner = MustParseGUID("6b6f6f62-7270-6f6f-6662-6f6f7470726f")
)

// ParseGUID reads the registry form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
func ParseGUID(s string) (GUID, error) {
	var g GUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("parse GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("parse GUID %q: %w", s, err)
	}
	// The first three fields are little-endian in memory.
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on a malformed GUID.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the registry form, lowercase.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

// MarshalText writes the registry form, so JSON shows GUIDs as text.
func (g GUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }
