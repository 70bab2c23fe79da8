package tpm

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-tpm/tpm2/transport"
)

// Family is the TPM specification family a host's TPM implements.
type Family int

// The families bootproof tells apart. Only FamilyTPM20 can attest; a TPM 1.2
// host is reported N/A, as is a host without a TPM.
const (
	FamilyNone Family = iota
	FamilyTPM12
	FamilyTPM20
)

// String returns "none", "1.2" or "2.0", the spelling of the wire protocol.
func (f Family) String() string {
	switch f {
	case FamilyTPM12:
		return "1.2"
	case FamilyTPM20:
		return "2.0"
	}
	return "none"
}

// ParseFamily reads a Family as String spells it.
func ParseFamily(s string) (Family, error) {
	for _, f := range []Family{FamilyNone, FamilyTPM12, FamilyTPM20} {
		if f.String() == s {
			return f, nil
		}
	}
	return FamilyNone, fmt.Errorf("unknown tpm family %q", s)
}

// DetectFamily reports the family of the host's first TPM from sysfs, rooted
// at sysfsRoot ("/sys" on a host; a directory tree in tests). It reads
// class/tpm/tpm0/tpm_version_major (Linux 5.5 and later: "1" or "2"). On older
// kernels, which lack that file, a TPM 1.2 is recognised by the files only
// the 1.2 driver makes (device/caps, device/pcrs) and anything else present is
// taken for a 2.0. No tpm0 means FamilyNone. DetectFamily never opens the
// device; (*Device).Family asks the TPM itself.
func DetectFamily(sysfsRoot string) Family {
	dir := filepath.Join(sysfsRoot, "class", "tpm", "tpm0")
	if _, err := os.Stat(dir); err != nil {
		return FamilyNone
	}
	if b, err := os.ReadFile(filepath.Join(dir, "tpm_version_major")); err == nil {
		switch strings.TrimSpace(string(b)) {
		case "1":
			return FamilyTPM12
		case "2":
			return FamilyTPM20
		}
		return FamilyNone
	}
	for _, f := range []string{"caps", "pcrs"} {
		if _, err := os.Stat(filepath.Join(dir, "device", f)); err == nil {
			return FamilyTPM12
		}
	}
	return FamilyTPM20
}

// Family asks the TPM what it is. It sends TPM2_GetCapability for
// TPM_PT_FAMILY_INDICATOR as raw bytes: a TPM 2.0 answers "2.0"; a TPM 1.2
// cannot parse a 2.0 command and answers with a TPM 1.2 response tag
// (TPM_TAG_RSP_COMMAND, 0x00C4; TCG PC Client PTP §"TPM 1.2 and 2.0
// coexistence"), which is recognised here rather than reported as an error.
func (d *Device) Family() (Family, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return FamilyNone, err
	}
	return family(t)
}

const (
	tagTPM12RspCommand = 0x00C4
	tagTPM20NoSessions = 0x8001
	familyIndicator20  = 0x322E3000 // "2.0\0"
)

// getCapFamilyCmd is TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES,
// TPM_PT_FAMILY_INDICATOR, 1).
var getCapFamilyCmd = []byte{
	0x80, 0x01, // TPM_ST_NO_SESSIONS
	0x00, 0x00, 0x00, 0x16, // size 22
	0x00, 0x00, 0x01, 0x7A, // TPM_CC_GetCapability
	0x00, 0x00, 0x00, 0x06, // TPM_CAP_TPM_PROPERTIES
	0x00, 0x00, 0x01, 0x00, // TPM_PT_FAMILY_INDICATOR
	0x00, 0x00, 0x00, 0x01, // one property
}

func family(t transport.TPM) (Family, error) {
	rsp, err := t.Send(getCapFamilyCmd)
	if err != nil {
		return FamilyNone, fmt.Errorf("ask tpm family: %w", err)
	}
	if len(rsp) < 10 {
		return FamilyNone, fmt.Errorf("ask tpm family: response of %d bytes is shorter than a header", len(rsp))
	}
	tag := binary.BigEndian.Uint16(rsp[0:2])
	rc := binary.BigEndian.Uint32(rsp[6:10])
	switch {
	case tag == tagTPM12RspCommand:
		return FamilyTPM12, nil
	case tag != tagTPM20NoSessions:
		return FamilyNone, fmt.Errorf("ask tpm family: unknown response tag 0x%04x", tag)
	case rc != 0:
		return FamilyNone, fmt.Errorf("ask tpm family: tpm returned 0x%08x", rc)
	}
	// header(10) moreData(1) capability(4) count(4) property(4) value(4)
	if len(rsp) < 27 {
		return FamilyNone, fmt.Errorf("ask tpm family: response of %d bytes is too short for a property", len(rsp))
	}
	if prop := binary.BigEndian.Uint32(rsp[19:23]); prop != 0x100 {
		return FamilyNone, fmt.Errorf("ask tpm family: tpm answered property 0x%x, want TPM_PT_FAMILY_INDICATOR", prop)
	}
	if v := binary.BigEndian.Uint32(rsp[23:27]); v != familyIndicator20 {
		return FamilyNone, fmt.Errorf("ask tpm family: unknown family indicator 0x%08x", v)
	}
	return FamilyTPM20, nil
}
