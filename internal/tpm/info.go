package tpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Info is what a TPM says about itself (TPM2_GetCapability of its fixed
// properties), in the spelling of EK certificates' TPM attributes (TCG EK
// Credential Profile §3.2.9: "id:" and 8 hex digits).
type Info struct {
	Manufacturer string // TPM_PT_MANUFACTURER, e.g. "id:4D534654"
	Vendor       string // TPM_PT_VENDOR_STRING_1..4, printable part, e.g. "xCG fTPM"
	Firmware     string // TPM_PT_FIRMWARE_VERSION_1, e.g. "id:20170619"
}

// Info reads the TPM's manufacturer, vendor string and firmware version.
func (d *Device) Info() (Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return Info{}, err
	}
	var info Info
	m, err := tpmProperty(t, tpm2.TPMPTManufacturer)
	if err != nil {
		return Info{}, fmt.Errorf("tpm info: %w", err)
	}
	info.Manufacturer = fmt.Sprintf("id:%08X", m)
	var vendor []byte
	for p := tpm2.TPMPTVendorString1; p <= tpm2.TPMPTVendorString1+3; p++ {
		v, err := tpmProperty(t, p)
		if err != nil {
			break // vendor strings 2..4 are optional
		}
		vendor = binary.BigEndian.AppendUint32(vendor, v)
	}
	info.Vendor = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, string(vendor)))
	fw, err := tpmProperty(t, tpm2.TPMPTFirmwareVersion1)
	if err != nil {
		return Info{}, fmt.Errorf("tpm info: %w", err)
	}
	info.Firmware = fmt.Sprintf("id:%08X", fw)
	return info, nil
}

// Reboot power-cycles a simulated TPM as a host reboot does: PCRs return to
// their reset values and loaded keys are gone, while the seeds (so the EK
// and the SRK, and with it every AK blob) and the EK certificate stay. Only
// the simulator can do this; other devices return an error.
//
// Why not the simulator's own Reset: go-tpm-tools puts the fixed seeds only
// in the TPM's RAM copy of its persistent data, and a TPM reset reloads that
// from NV, bringing back random seeds (a new EK; AK blobs stop loading). So
// Reboot reopens the simulator with the same seed and writes the EK
// certificate back. Other NV indices do not survive; bootproof uses none.
func (d *Device) Reboot() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sim == nil {
		return fmt.Errorf("reboot tpm %s: only the simulator can be rebooted from here", d.desc)
	}
	t, err := d.transport()
	if err != nil {
		return err
	}
	cert, err := readNV(t, EKCertNVIndex)
	if err != nil && !errors.Is(err, errNoIndex) {
		return fmt.Errorf("reboot tpm %s: keep ek certificate: %w", d.desc, err)
	}
	if err := d.tpm.Close(); err != nil {
		return fmt.Errorf("reboot tpm %s: power off: %w", d.desc, err)
	}
	d.tpm = nil
	sim, err := simulator.GetWithFixedSeedInsecure(d.seed)
	if err != nil {
		return fmt.Errorf("reboot tpm %s: power on: %w", d.desc, err)
	}
	d.sim, d.tpm = sim, transport.FromReadWriteCloser(sim)
	if cert != nil {
		if err := provisionEKCert(d.tpm, cert); err != nil {
			return fmt.Errorf("reboot tpm %s: restore ek certificate: %w", d.desc, err)
		}
	}
	return nil
}
