package tpm

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

func TestInfo(t *testing.T) {
	d := openSim(t, 40)
	info, err := d.Info()
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	id := regexp.MustCompile(`^id:[0-9A-F]{8}$`)
	if !id.MatchString(info.Manufacturer) || !id.MatchString(info.Firmware) {
		t.Errorf("Info = %+v, want manufacturer and firmware as id:XXXXXXXX", info)
	}
	t.Logf("reference TPM: %+v", info)
}

// TestReboot: a reboot resets the PCRs but keeps the EK certificate and the
// AK blob's SRK.
func TestReboot(t *testing.T) {
	d := openSim(t, 41)
	cert := []byte("pretend certificate")
	if err := d.ProvisionEKCert(cert); err != nil {
		t.Fatal(err)
	}
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	blob := ak.Blob()
	if err := d.Extend(4, eventlog.Digests([]eventlog.Alg{eventlog.SHA256}, []byte("loader"))); err != nil {
		t.Fatal(err)
	}
	if err := d.Reboot(); err != nil {
		t.Fatalf("Reboot: %v", err)
	}
	pcrs, err := d.ReadPCRs(eventlog.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pcrs[4], make([]byte, 32)) {
		t.Errorf("PCR 4 after reboot = %x, want zeros", pcrs[4])
	}
	if _, got, err := d.EK(); err != nil || !bytes.Equal(got, cert) {
		t.Errorf("EK cert after reboot = %q, %v; want %q", got, err, cert)
	}
	if _, err := d.LoadAK(blob); err != nil {
		t.Errorf("LoadAK after reboot: %v", err)
	}
	dev := &Device{tpm: tpm12{}, desc: "not a simulator"}
	if err := dev.Reboot(); err == nil {
		t.Error("Reboot of a non-simulator = nil error, want error")
	}
}

func TestRebootKeepsEK(t *testing.T) {
	d := openSim(t, 42)
	before, _, err := d.EK()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Reboot(); err != nil {
		t.Fatal(err)
	}
	after, cert, err := d.EK()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("EK changed across Reboot")
	}
	if cert != nil {
		t.Errorf("Reboot made an EK certificate of %d bytes out of none", len(cert))
	}
}
