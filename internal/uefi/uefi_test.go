package uefi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/google/go-cmp/cmp"
)

const (
	globalGUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
	dbGUID     = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"
)

func TestGUID(t *testing.T) {
	g := uefi.MustParseGUID(globalGUID)
	// EFI_GLOBAL_VARIABLE as it sits in memory (UEFI 2.10 §3.3).
	want := []byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}
	if !bytes.Equal(g[:], want) || g.String() != globalGUID {
		t.Errorf("GUID bytes %x string %s", g[:], g)
	}
	for _, bad := range []string{"", "8be4df61-93ca-11d2-aa0d-00e098032b8", "zze4df61-93ca-11d2-aa0d-00e098032b8c"} {
		if _, err := uefi.ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) succeeded", bad)
		}
	}
}

func TestVariableData(t *testing.T) {
	enc := uefi.EncodeVariableData(globalGUID, "SecureBoot", []byte{1})
	v, err := uefi.ParseVariableData(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := &uefi.VariableData{VendorGUID: uefi.GlobalVariable, Name: "SecureBoot", Data: []byte{1}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	huge := bytes.Clone(enc)
	binary.LittleEndian.PutUint64(huge[24:], 1<<62)
	longName := bytes.Clone(enc)
	binary.LittleEndian.PutUint64(longName[16:], 1<<20)
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", enc[:31], "header needs 32"},
		{"data overruns", enc[:len(enc)-1], "only"},
		{"huge data length", huge, "only"},
		{"huge name", longName, "limit"},
		{"trailing bytes", append(bytes.Clone(enc), 0), "1 bytes after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := uefi.ParseVariableData(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// testCert makes a self-signed certificate with a fixed validity.
func testCert(t testing.TB, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2044, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignatureList(t *testing.T) {
	a, b := testCert(t, "bootproof PK"), testCert(t, "bootproof db")
	db, err := uefi.ParseSignatureLists(uefi.EncodeSignatureList(a, b))
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Certs) != 2 || len(db.Hashes) != 0 || len(db.Other) != 0 {
		t.Fatalf("got %d certs %d hashes %d other, want 2 certs", len(db.Certs), len(db.Hashes), len(db.Other))
	}
	for i, want := range []struct {
		der     []byte
		subject string
	}{{a, "CN=bootproof PK"}, {b, "CN=bootproof db"}} {
		c := db.Certs[i]
		c.ReadNames()
		if c.Subject != want.subject || c.SHA256 != sha256.Sum256(want.der) || c.Owner != uefi.BootproofOwner || c.ParseErr != "" {
			t.Errorf("cert %d = subject %q owner %v err %q", i, c.Subject, c.Owner, c.ParseErr)
		}
	}
	// A SHA-256 list with two hashes, as dbx holds.
	var hl []byte
	hl = append(hl, uefi.CertSHA256[:]...)
	hl = binary.LittleEndian.AppendUint32(hl, 28+2*48)
	hl = binary.LittleEndian.AppendUint32(hl, 0)
	hl = binary.LittleEndian.AppendUint32(hl, 48)
	for i := byte(1); i <= 2; i++ {
		hl = append(hl, uefi.BootproofOwner[:]...)
		hl = append(hl, bytes.Repeat([]byte{i}, 32)...)
	}
	dbx, err := uefi.ParseSignatureLists(hl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dbx.Hashes) != 2 || dbx.Hashes[1].Alg != "sha256" || dbx.Hashes[1].Value[0] != 2 {
		t.Errorf("hashes = %+v", dbx.Hashes)
	}
	bad := func(off int, v uint32) []byte {
		b := bytes.Clone(hl)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short header", hl[:27], "header needs 28"},
		{"list size past end", bad(16, 1000), "list size 1000"},
		{"list size below header", bad(16, 3), "list size 3"},
		{"header size too big", bad(20, 500), "header size 500"},
		{"signature size not dividing", bad(24, 47), "not a multiple"},
		{"signature size zero", bad(24, 0), "minimum 16"},
		{"sha256 entry of 40 bytes", func() []byte {
			b := bad(16, 28+56)[:28]
			binary.LittleEndian.PutUint32(b[24:], 56)
			return append(b, make([]byte, 56)...)
		}(), "has 40 bytes, want 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := uefi.ParseSignatureLists(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
