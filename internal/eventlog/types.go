package eventlog

import (
	"bytes"
	"crypto"
	"crypto/sha1" // SHA-1 for legacy logs and the sha1 bank
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
)

// Alg is a TCG hash algorithm identifier (TPM_ALG_ID, TPM 2.0 Part 2 §6.3).
type Alg uint16

// The hash algorithms a PCR bank can use.
const (
	SHA1   Alg = 0x0004
	SHA256 Alg = 0x000B
	SHA384 Alg = 0x000C
	SHA512 Alg = 0x000D
	SM3256 Alg = 0x0012
)

// Algs lists the banks bootproof knows how to replay, in the order reports show them.
var Algs = []Alg{SHA1, SHA256, SHA384, SHA512}

// String returns the bank's name as pcrs.json spells it ("sha256").
func (a Alg) String() string {
	switch a {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	case SHA384:
		return "sha384"
	case SHA512:
		return "sha512"
	case SM3256:
		return "sm3_256"
	}
	return fmt.Sprintf("alg_0x%04x", uint16(a))
}

// ParseAlg reads a bank name as pcrs.json spells it.
func ParseAlg(name string) (Alg, error) {
	for _, a := range append(Algs, SM3256) {
		if a.String() == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown hash algorithm %q", name)
}

// Hash returns the Go hash for the algorithm; ok is false for algorithms Go lacks (SM3).
func (a Alg) Hash() (h crypto.Hash, ok bool) {
	switch a {
	case SHA1:
		return crypto.SHA1, true
	case SHA256:
		return crypto.SHA256, true
	case SHA384:
		return crypto.SHA384, true
	case SHA512:
		return crypto.SHA512, true
	}
	return 0, false
}

// Size is the digest size in bytes, or 0 when unknown.
func (a Alg) Size() int {
	switch a {
	case SHA1:
		return 20
	case SHA256, SM3256:
		return 32
	case SHA384:
		return 48
	case SHA512:
		return 64
	}
	return 0
}

// Sum hashes b with the algorithm. It panics on an algorithm Go lacks, so
// callers pass only algorithms from Algs.
func (a Alg) Sum(b []byte) []byte {
	h, ok := a.Hash()
	if !ok {
		panic(fmt.Sprintf("eventlog: no hash for %v", a))
	}
	hh := h.New()
	hh.Write(b)
	return hh.Sum(nil)
}

// Matches reports whether digest is a's hash of b. It hashes without
// allocating for the common banks.
func (a Alg) Matches(b, digest []byte) bool {
	switch a {
	case SHA1:
		d := sha1.Sum(b)
		return bytes.Equal(d[:], digest)
	case SHA256:
		d := sha256.Sum256(b)
		return bytes.Equal(d[:], digest)
	case SHA384:
		d := sha512.Sum384(b)
		return bytes.Equal(d[:], digest)
	case SHA512:
		d := sha512.Sum512(b)
		return bytes.Equal(d[:], digest)
	}
	if _, ok := a.Hash(); !ok {
		return false
	}
	return bytes.Equal(a.Sum(b), digest)
}

// Digest is one bank's digest of an event.
type Digest struct {
	Alg   Alg
	Value []byte
}

// Digests computes the digest of data in every given bank, as firmware does
// for an event whose digest is the hash of its data.
func Digests(banks []Alg, data []byte) []Digest {
	out := make([]Digest, len(banks))
	for i, a := range banks {
		out[i] = Digest{Alg: a, Value: a.Sum(data)}
	}
	return out
}

// EventType is the TCG event type (TCG PC Client PFP §10.4.1). It is
// untrusted: replay covers an event's digest, not its type or data.
type EventType uint32

// Event types of the TCG PC Client Platform Firmware Profile, §10.4.1.
const (
	EvPrebootCert                EventType = 0x00000000
	EvPostCode                   EventType = 0x00000001
	EvUnused                     EventType = 0x00000002
	EvNoAction                   EventType = 0x00000003
	EvSeparator                  EventType = 0x00000004
	EvAction                     EventType = 0x00000005
	EvEventTag                   EventType = 0x00000006
	EvSCRTMContents              EventType = 0x00000007
	EvSCRTMVersion               EventType = 0x00000008
	EvCPUMicrocode               EventType = 0x00000009
	EvPlatformConfigFlags        EventType = 0x0000000A
	EvTableOfDevices             EventType = 0x0000000B
	EvCompactHash                EventType = 0x0000000C
	EvIPL                        EventType = 0x0000000D
	EvIPLPartitionData           EventType = 0x0000000E
	EvNonhostCode                EventType = 0x0000000F
	EvNonhostConfig              EventType = 0x00000010
	EvNonhostInfo                EventType = 0x00000011
	EvOmitBootDeviceEvents       EventType = 0x00000012
	EvEFIEventBase               EventType = 0x80000000
	EvEFIVariableDriverConfig    EventType = 0x80000001
	EvEFIVariableBoot            EventType = 0x80000002
	EvEFIBootServicesApplication EventType = 0x80000003
	EvEFIBootServicesDriver      EventType = 0x80000004
	EvEFIRuntimeServicesDriver   EventType = 0x80000005
	EvEFIGPTEvent                EventType = 0x80000006
	EvEFIAction                  EventType = 0x80000007
	EvEFIPlatformFirmwareBlob    EventType = 0x80000008
	EvEFIHandoffTables           EventType = 0x80000009
	EvEFIPlatformFirmwareBlob2   EventType = 0x8000000A
	EvEFIHandoffTables2          EventType = 0x8000000B
	EvEFIVariableBoot2           EventType = 0x8000000C
	EvEFIGPTEvent2               EventType = 0x8000000D
	EvEFIHCRTMEvent              EventType = 0x80000010
	EvEFIVariableAuthority       EventType = 0x800000E0
	EvEFISPDMFirmwareBlob        EventType = 0x800000E1
	EvEFISPDMFirmwareConfig      EventType = 0x800000E2
)

var eventTypeNames = map[EventType]string{
	EvPrebootCert: "EV_PREBOOT_CERT", EvPostCode: "EV_POST_CODE", EvUnused: "EV_UNUSED",
	EvNoAction: "EV_NO_ACTION", EvSeparator: "EV_SEPARATOR", EvAction: "EV_ACTION",
	EvEventTag: "EV_EVENT_TAG", EvSCRTMContents: "EV_S_CRTM_CONTENTS",
	EvSCRTMVersion: "EV_S_CRTM_VERSION", EvCPUMicrocode: "EV_CPU_MICROCODE",
	EvPlatformConfigFlags: "EV_PLATFORM_CONFIG_FLAGS", EvTableOfDevices: "EV_TABLE_OF_DEVICES",
	EvCompactHash: "EV_COMPACT_HASH", EvIPL: "EV_IPL", EvIPLPartitionData: "EV_IPL_PARTITION_DATA",
	EvNonhostCode: "EV_NONHOST_CODE", EvNonhostConfig: "EV_NONHOST_CONFIG",
	EvNonhostInfo: "EV_NONHOST_INFO", EvOmitBootDeviceEvents: "EV_OMIT_BOOT_DEVICE_EVENTS",
	EvEFIEventBase: "EV_EFI_EVENT_BASE", EvEFIVariableDriverConfig: "EV_EFI_VARIABLE_DRIVER_CONFIG",
	EvEFIVariableBoot: "EV_EFI_VARIABLE_BOOT", EvEFIBootServicesApplication: "EV_EFI_BOOT_SERVICES_APPLICATION",
	EvEFIBootServicesDriver: "EV_EFI_BOOT_SERVICES_DRIVER", EvEFIRuntimeServicesDriver: "EV_EFI_RUNTIME_SERVICES_DRIVER",
	EvEFIGPTEvent: "EV_EFI_GPT_EVENT", EvEFIAction: "EV_EFI_ACTION",
	EvEFIPlatformFirmwareBlob: "EV_EFI_PLATFORM_FIRMWARE_BLOB", EvEFIHandoffTables: "EV_EFI_HANDOFF_TABLES",
	EvEFIPlatformFirmwareBlob2: "EV_EFI_PLATFORM_FIRMWARE_BLOB2", EvEFIHandoffTables2: "EV_EFI_HANDOFF_TABLES2",
	EvEFIVariableBoot2: "EV_EFI_VARIABLE_BOOT2", EvEFIGPTEvent2: "EV_EFI_GPT_EVENT2",
	EvEFIHCRTMEvent: "EV_EFI_HCRTM_EVENT", EvEFIVariableAuthority: "EV_EFI_VARIABLE_AUTHORITY",
	EvEFISPDMFirmwareBlob: "EV_EFI_SPDM_FIRMWARE_BLOB", EvEFISPDMFirmwareConfig: "EV_EFI_SPDM_FIRMWARE_CONFIG",
}

// String returns the spec's name for the type, or its number in hex.
func (t EventType) String() string {
	if n, ok := eventTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("EV_0x%08x", uint32(t))
}

// Event is one entry of a log. Everything in it is as logged and untrusted
// until a replay proves its digest.
type Event struct {
	// Index is the event's position in the log, counting from 0 with the
	// Spec ID header event of a crypto-agile log as event 0.
	Index int
	// Offset is the byte offset of the event in the log, for error messages.
	Offset  int
	PCR     int
	Type    EventType
	Digests []Digest
	Data    []byte
}

// Digest returns the event's digest in bank a, if the event has one.
func (e *Event) Digest(a Alg) ([]byte, bool) {
	for _, d := range e.Digests {
		if d.Alg == a {
			return d.Value, true
		}
	}
	return nil, false
}
