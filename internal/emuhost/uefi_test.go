package emuhost

import (
	"bytes"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// TestEncodingsMatchPackageUEFI checks the private encoders against the
// verifier's package uefi, byte for byte.
func TestEncodingsMatchPackageUEFI(t *testing.T) {
	v := testVendors(t)
	db := x509Lists(v.DB.Root.Raw, v.OS.Root.Raw)
	if want := uefi.EncodeSignatureList(v.DB.Root.Raw, v.OS.Root.Raw); !bytes.Equal(db, want) {
		t.Errorf("signature lists differ from uefi.EncodeSignatureList")
	}
	got := variableData(efiImageSecurityDatabase, "db", db)
	if want := uefi.EncodeVariableData("d719b2cb-3d3a-4596-a3bc-dad00e67656f", "db", db); !bytes.Equal(got, want) {
		t.Errorf("UEFI_VARIABLE_DATA differs from uefi.EncodeVariableData")
	}
	if want := uefi.EncodeVariableData("8be4df61-93ca-11d2-aa0d-00e098032b8c", "SecureBoot", []byte{1}); !bytes.Equal(variableData(efiGlobalVariable, "SecureBoot", []byte{1}), want) {
		t.Errorf("SecureBoot variable differs from uefi.EncodeVariableData")
	}
}

// TestSecureBootStateByPackageUEFI reads the PCR 7 events of real boots with
// the verifier's own parser, from events the TPM's PCRs prove.
func TestSecureBootStateByPackageUEFI(t *testing.T) {
	v := testVendors(t)
	for _, tt := range []struct {
		p       Profile
		enabled bool
	}{{Good, true}, {SecureBootOff, false}} {
		t.Run(string(tt.p), func(t *testing.T) {
			b := bootSim(t, tt.p, nil)
			l, err := eventlog.Parse(b.res.EventLog)
			if err != nil {
				t.Fatal(err)
			}
			events, err := l.Verified(eventlog.SHA256, b.pcrs[eventlog.SHA256])
			if err != nil {
				t.Fatal(err)
			}
			st, err := uefi.SecureBootState(events)
			if err != nil {
				t.Fatalf("uefi.SecureBootState: %v", err)
			}
			if st.Enabled != tt.enabled || !st.Measured {
				t.Errorf("Enabled=%v Measured=%v, want %v true", st.Enabled, st.Measured, tt.enabled)
			}
			if st.DB == nil || len(st.DB.Certs) != 1 || !bytes.Equal(st.DB.Certs[0].DER, v.DB.Root.Raw) {
				t.Errorf("db as package uefi reads it: %+v", st.DB)
			}
			if st.DBX() == nil || len(st.DBX().Hashes) != 1 || st.PK == nil || st.KEK == nil {
				t.Errorf("PK/KEK/dbx: %+v %+v %+v", st.PK, st.KEK, st.DBX())
			}
			wantAuth := 0
			if tt.enabled {
				wantAuth = 1
			}
			if len(st.Authorities) != wantAuth {
				t.Fatalf("%d authority events, want %d", len(st.Authorities), wantAuth)
			}
			if wantAuth == 1 {
				a := st.Authorities[0]
				if a.Variable != "db" || !a.AfterSeparator || a.Cert == nil || !bytes.Equal(a.Cert.DER, v.DB.Root.Raw) {
					t.Errorf("authority %+v, want the db certificate after the separator", a)
				}
			}
		})
	}
}
