package quote

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The sim-* files in testdata are what the reference TPM simulator made
// (testdata/simgen writes them): the decoders must take a TPM's own output,
// not only go-tpm's marshalling of values built in Go.

type simQuote struct {
	name                string
	attest, sig, public []byte
}

func readSimQuotes(t testing.TB) []simQuote {
	t.Helper()
	var qs []simQuote
	for _, name := range []string{"sim-rsassa", "sim-rsapss", "sim-ecdsa-p256", "sim-ecdsa-p384"} {
		q := simQuote{name: name}
		for ext, dst := range map[string]*[]byte{".attest": &q.attest, ".tpmt_signature": &q.sig, ".tpmt_public": &q.public} {
			b, err := os.ReadFile(filepath.Join("testdata", name+ext))
			if err != nil {
				t.Fatal(err)
			}
			*dst = b
		}
		qs = append(qs, q)
	}
	return qs
}

func TestSimulatorQuotes(t *testing.T) {
	wantHash := map[string]crypto.Hash{"sim-rsassa": crypto.SHA256, "sim-rsapss": crypto.SHA256,
		"sim-ecdsa-p256": crypto.SHA256, "sim-ecdsa-p384": crypto.SHA384}
	for i, q := range readSimQuotes(t) {
		t.Run(q.name, func(t *testing.T) {
			ak, err := ParsePublic(q.public)
			if err != nil {
				t.Fatalf("ParsePublic: %v", err)
			}
			if !ak.Restricted() || !ak.SignEncrypt() || ak.Decrypt() || !ak.FixedTPM() {
				t.Errorf("the simulator's AK has attributes 0x%08x, want a restricted fixedTPM signing key", ak.Attributes)
			}
			att, err := ParseAttest(q.attest)
			if err != nil {
				t.Fatalf("ParseAttest: %v", err)
			}
			if want := fmt.Sprintf("bootproof quote test nonce %05d", i); string(att.ExtraData) != want {
				t.Errorf("extraData %q, want %q", att.ExtraData, want)
			}
			if len(att.PCRSelections) != 2 || att.PCRSelections[0].Hash != AlgSHA1 || att.PCRSelections[1].Hash != AlgSHA256 ||
				!bytes.Equal(att.PCRSelections[1].Select, []byte{0xff, 0xff, 0xff}) {
				t.Errorf("selections %+v, want SHA-1 and SHA-256, PCR 0-23", att.PCRSelections)
			}
			sig, err := ParseSignature(q.sig)
			if err != nil {
				t.Fatalf("ParseSignature: %v", err)
			}
			h, err := VerifySignature(ak.Key, q.attest, sig)
			if err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if h != wantHash[q.name] || len(att.PCRDigest) != h.Size() {
				t.Errorf("hash %v and a %d-byte pcrDigest, want %v and %d", h, len(att.PCRDigest), wantHash[q.name], wantHash[q.name].Size())
			}
			tampered := bytes.Clone(q.attest)
			tampered[len(tampered)-1] ^= 1 // the pcrDigest
			if _, err := VerifySignature(ak.Key, tampered, sig); err == nil {
				t.Error("the signature verifies over a changed pcrDigest")
			}
			for what, o := range map[string]outcome{
				"attest": checkAttest(t, q.attest), "signature": checkSignature(t, q.sig), "public": checkPublic(t, q.public),
			} {
				if o != bothAccepted {
					t.Errorf("%s: ours and go-tpm do not both accept it", what)
				}
			}
		})
	}
}

// TestSimulatorKeys decodes the EK and AK of the simulator as enrolment
// sees them.
func TestSimulatorKeys(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  uint16
	}{
		{"testdata/sim-seed7-ak.tpmt_public", AlgECC},
		{"testdata/sim-seed7-ek.tpmt_public", AlgRSA},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePublic(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if p.Type != tc.typ {
			t.Errorf("%s: type 0x%04x, want 0x%04x", tc.file, p.Type, tc.typ)
		}
		if checkPublic(t, b) != bothAccepted {
			t.Errorf("%s: ours and go-tpm do not both accept it", tc.file)
		}
	}
}
