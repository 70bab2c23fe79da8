package tpm

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-tpm/tpm2"
)

func TestEKIsStableForASeed(t *testing.T) {
	d := openSim(t, 10)
	pub1, cert, err := d.EK()
	if err != nil {
		t.Fatalf("EK: %v", err)
	}
	if cert != nil {
		t.Errorf("EK cert of a fresh simulator = %d bytes, want none", len(cert))
	}
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](pub1)
	if err != nil {
		t.Fatalf("EK public does not parse as TPMT_PUBLIC: %v", err)
	}
	if p.Type != tpm2.TPMAlgRSA || !p.ObjectAttributes.Restricted || !p.ObjectAttributes.Decrypt {
		t.Errorf("EK is type %v restricted=%v decrypt=%v, want a restricted RSA decryption key", p.Type, p.ObjectAttributes.Restricted, p.ObjectAttributes.Decrypt)
	}
	d.Close()

	d2 := openSim(t, 10)
	pub2, _, err := d2.EK()
	if err != nil {
		t.Fatalf("EK after reopen: %v", err)
	}
	if !bytes.Equal(pub1, pub2) {
		t.Error("EK changed across a reopen with the same seed")
	}
	d2.Close()

	d3 := openSim(t, 11)
	pub3, _, err := d3.EK()
	if err != nil {
		t.Fatalf("EK with another seed: %v", err)
	}
	if bytes.Equal(pub1, pub3) {
		t.Error("two seeds gave the same EK")
	}
}

// TestProvisionEKCert stores certificates of several sizes (some larger than
// the reference TPM's 1024-byte NV buffer, so reads and writes are chunked)
// and reads each back.
func TestProvisionEKCert(t *testing.T) {
	d := openSim(t, 12)
	for _, n := range []int{1, 700, 1024, 1025, 2048} {
		der := make([]byte, n)
		rand.Read(der)
		if err := d.ProvisionEKCert(der); err != nil {
			t.Fatalf("ProvisionEKCert(%d bytes): %v", n, err)
		}
		_, got, err := d.EK()
		if err != nil {
			t.Fatalf("EK after provisioning %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, der) {
			t.Errorf("EK cert read back is %d bytes and differs from the %d written", len(got), n)
		}
	}
	// The reference TPM's TPM_PT_NV_INDEX_MAX is 2048 bytes.
	if err := d.ProvisionEKCert(make([]byte, 2049)); err == nil {
		t.Error("ProvisionEKCert(2049 bytes) = nil, want error")
	}
	if err := d.ProvisionEKCert(nil); err == nil {
		t.Error("ProvisionEKCert(nil) = nil, want error")
	}
}

func TestCreateAKAttributes(t *testing.T) {
	d := openSim(t, 13)
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatalf("CreateAK: %v", err)
	}
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](ak.Public())
	if err != nil {
		t.Fatalf("AK public does not parse: %v", err)
	}
	a := p.ObjectAttributes
	if !a.Restricted || !a.SignEncrypt || !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin || a.Decrypt {
		t.Errorf("AK attributes %+v, want a restricted, fixed, TPM-made signing key", a)
	}
	name, err := tpm2.ObjectName(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(name.Buffer, ak.Name()) {
		t.Errorf("AK Name() = %x, want the name computed from its public area %x", ak.Name(), name.Buffer)
	}
}

// TestLoadAKAfterReopen saves an AK blob, closes the simulator (losing all
// its state), reopens it with the same seed and loads the blob: the SRK is
// recreated identically from the seed, so the AK loads and its quotes verify
// with the public key enrolled before.
func TestLoadAKAfterReopen(t *testing.T) {
	d := openSim(t, 14)
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatalf("CreateAK: %v", err)
	}
	blob, pub := ak.Blob(), ak.Public()
	d.Close()

	d2 := openSim(t, 14)
	ak2, err := d2.LoadAK(blob)
	if err != nil {
		t.Fatalf("LoadAK after reopen: %v", err)
	}
	if !bytes.Equal(ak2.Public(), pub) {
		t.Error("reloaded AK has another public area")
	}
	nonce := []byte("nonce after restart")
	attest, sig, _, err := d2.Quote(ak2, nonce, eventlog.SHA256)
	if err != nil {
		t.Fatalf("Quote with reloaded AK: %v", err)
	}
	verifyQuote(t, pub, attest, sig, nonce)
	d2.Close()

	// A TPM with another seed has another SRK: the blob must not load.
	d3 := openSim(t, 15)
	if _, err := d3.LoadAK(blob); err == nil {
		t.Error("LoadAK in a TPM with another seed = nil error, want error")
	}
}

func TestParseAKBlobRejects(t *testing.T) {
	tests := []struct {
		name string
		blob []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"size beyond end", []byte{0, 9, 1}},
		{"no private part", []byte{0, 1, 1}},
		{"empty parts", []byte{0, 0, 0, 0}},
		{"garbage public", []byte{0, 2, 0xff, 0xff, 0, 1, 1}},
		{"trailing bytes", []byte{0, 0, 0, 1, 1, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseAKBlob(tt.blob); err == nil {
				t.Errorf("ParseAKBlob(%x) = nil error, want error", tt.blob)
			}
		})
	}
}

func FuzzParseAKBlob(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add(append(tpm2.Marshal(tpm2.New2B(AKTemplate)), 0, 3, 1, 2, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, priv, err := ParseAKBlob(b)
		if err == nil && (len(pub) == 0 || len(priv) == 0) {
			t.Errorf("ParseAKBlob accepted a blob with an empty part")
		}
	})
}

// verifyQuote checks a quote the way a verifier does, with go-tpm
// structures and crypto/rsa: the signature over the TPMS_ATTEST with the
// AK's public key, the TPM_GENERATED magic, the quote type and the nonce.
func verifyQuote(t *testing.T, akPub, attest, sig, nonce []byte) *tpm2.TPMSQuoteInfo {
	t.Helper()
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](akPub)
	if err != nil {
		t.Fatalf("parse AK public: %v", err)
	}
	key, err := tpm2.Pub(*p)
	if err != nil {
		t.Fatalf("AK public key: %v", err)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("AK key is %T, want *rsa.PublicKey", key)
	}
	s, err := tpm2.Unmarshal[tpm2.TPMTSignature](sig)
	if err != nil {
		t.Fatalf("parse signature: %v", err)
	}
	rs, err := s.Signature.RSASSA()
	if err != nil {
		t.Fatalf("signature is not RSASSA: %v", err)
	}
	digest := sha256.Sum256(attest)
	if err := rsa.VerifyPKCS1v15(rsaKey, crypto.SHA256, digest[:], rs.Sig.Buffer); err != nil {
		t.Fatalf("quote signature does not verify with the AK: %v", err)
	}
	a, err := tpm2.Unmarshal[tpm2.TPMSAttest](attest)
	if err != nil {
		t.Fatalf("parse attest: %v", err)
	}
	if a.Magic != tpm2.TPMGeneratedValue || a.Type != tpm2.TPMSTAttestQuote {
		t.Errorf("attest magic %x type %x, want TPM_GENERATED and a quote", a.Magic, a.Type)
	}
	if diff := cmp.Diff(nonce, a.ExtraData.Buffer); diff != "" {
		t.Errorf("quote extraData is not the nonce (-want +got):\n%s", diff)
	}
	q, err := a.Attested.Quote()
	if err != nil {
		t.Fatalf("attest holds no quote: %v", err)
	}
	return q
}
