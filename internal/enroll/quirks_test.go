package enroll_test

import (
	"errors"
	"testing"

	"github.com/bootproof/bootproof/internal/enroll"
)

// TestRealQuirks names, one case per quirk, a certificate of
// shared/tpm-ek-roots that needs it, and what the store must say.
func TestRealQuirks(t *testing.T) {
	dir, all := loadRealCAs(t)
	ts, err := enroll.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]realCA{}
	for _, r := range all {
		byFile[r.file] = r
	}
	tests := []struct {
		file    string
		quirk   string
		wantErr error
	}{
		{"STM_TPM_ECC_Intermediate_CA_02.pem", "issuer name is UTF8String, the root's subject PrintableString", nil},
		{"STM_TPM_ECC384_Intermediate_CA_01.pem", "issuer name is UTF8String, the root's subject PrintableString", nil},
		{"STM_ECC_01I.pem", "issued before its root's certificate's notBefore", nil},
		{"NUVO_0100.pem", "multi-valued RDN out of DER order", nil},
		{"IFX1.pem", "SHA-1 signed, its issuer's root (VeriSign) is in no source", enroll.ErrUntrustedCA},
		{"Alibaba_Cloud_vTPM_EK.pem", "issuer in no source", enroll.ErrUntrustedCA},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, ok := byFile[tt.file]
			if !ok {
				t.Skipf("%s is not in the folder", tt.file)
			}
			if isRoot(r.cert) {
				return // a root: nothing to chain (NUVO_0100 may be one)
			}
			_, err := ts.Chain(r.cert, r.cert.NotBefore)
			if tt.wantErr == nil && err != nil {
				t.Errorf("Chain(%s) [%s] = %v, want a chain", tt.file, tt.quirk, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Chain(%s) [%s] = %v, want %v", tt.file, tt.quirk, err, tt.wantErr)
			}
		})
	}
}
