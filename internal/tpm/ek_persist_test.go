package tpm

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// persist makes a primary key from template in hierarchy and persists it at
// EKPersistentHandle, as platform firmware does with the EK.
func persist(t *testing.T, d *Device, hierarchy tpm2.TPMHandle, template tpm2.TPMTPublic) {
	t.Helper()
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: hierarchy, InPublic: tpm2.New2B(template)}.Execute(d.tpm)
	if err != nil {
		t.Fatal(err)
	}
	defer flush(d.tpm, rsp.ObjectHandle)
	_, err = tpm2.EvictControl{
		Auth:             tpm2.TPMRHOwner,
		ObjectHandle:     &tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name},
		PersistentHandle: EKPersistentHandle,
	}.Execute(d.tpm)
	if err != nil {
		t.Fatalf("persist key at 0x%x: %v", uint32(EKPersistentHandle), err)
	}
}

func TestPersistedEK(t *testing.T) {
	tests := []struct {
		name      string
		hierarchy tpm2.TPMHandle
		template  tpm2.TPMTPublic
		wantUsed  bool
	}{
		{"default EK persisted by the platform", tpm2.TPMRHEndorsement, EKTemplate, true},
		{"another key at the EK handle is ignored", tpm2.TPMRHOwner, tpm2.RSASRKTemplate, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openSim(t, int64(50+i))
			created, _, err := d.EK()
			if err != nil {
				t.Fatal(err)
			}
			persist(t, d, tt.hierarchy, tt.template)
			ek, err := loadEK(d.tpm)
			if err != nil {
				t.Fatal(err)
			}
			ek.release(d.tpm)
			if used := !ek.transient; used != tt.wantUsed {
				t.Errorf("persisted key used = %v, want %v", used, tt.wantUsed)
			}
			got, _, err := d.EK()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, created) {
				t.Error("EK() with a persisted key differs from the EK the template makes")
			}
			// Credential activation works through whichever EK was used.
			ak, err := d.CreateAK()
			if err != nil {
				t.Fatal(err)
			}
			p, _ := tpm2.Unmarshal[tpm2.TPMTPublic](got)
			kem, _ := tpm2.ImportEncapsulationKey(p)
			blob, enc, err := tpm2.CreateCredential(rand.Reader, kem, ak.Name(), []byte("s"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.ActivateCredential(ak, blob, enc); err != nil {
				t.Errorf("ActivateCredential: %v", err)
			}
		})
	}
}
