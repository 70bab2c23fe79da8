package tpm

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-tpm/tpm2"
)

// TestQuoteRoundTrip quotes the reference TPM after some extends, each bank
// on its own and all banks in one quote, and checks, as the verifier will:
// signature, nonce, a selection of all 24 PCRs of every bank asked for in
// that order, and that the returned PCR values hash to the quote's
// pcrDigest and equal what ReadPCRs reports.
func TestQuoteRoundTrip(t *testing.T) {
	d := openSim(t, 20)
	banks, err := d.Banks()
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range []string{"firmware", "loader", "kernel"} {
		if err := d.Extend(i*4, eventlog.Digests(banks, []byte(data))); err != nil {
			t.Fatal(err)
		}
	}
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatalf("CreateAK: %v", err)
	}
	cases := map[string][]eventlog.Alg{"all banks": banks}
	for _, bank := range banks {
		cases[bank.String()] = []eventlog.Alg{bank}
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			nonce := make([]byte, 32)
			rand.Read(nonce)
			attest, sig, pcrs, err := d.Quote(ak, nonce, want...)
			if err != nil {
				t.Fatalf("Quote: %v", err)
			}
			q := verifyQuote(t, ak.Public(), attest, sig, nonce)
			if len(q.PCRSelect.PCRSelections) != len(want) {
				t.Fatalf("quote selects %d banks, want %d", len(q.PCRSelect.PCRSelections), len(want))
			}
			var cat []byte
			for i, sel := range q.PCRSelect.PCRSelections {
				if eventlog.Alg(sel.Hash) != want[i] || !bytes.Equal(sel.PCRSelect, []byte{0xff, 0xff, 0xff}) {
					t.Errorf("selection %d is %v %x, want %v PCRs 0-23", i, eventlog.Alg(sel.Hash), sel.PCRSelect, want[i])
				}
				for pcr := 0; pcr < NumPCRs; pcr++ {
					cat = append(cat, pcrs[want[i]][pcr]...)
				}
			}
			if got := eventlog.SHA256.Sum(cat); !bytes.Equal(got, q.PCRDigest.Buffer) {
				t.Errorf("returned PCRs hash to %x, quote pcrDigest is %x", got, q.PCRDigest.Buffer)
			}
			for _, bank := range want {
				read, err := d.ReadPCRs(bank)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(read, pcrs[bank]); diff != "" {
					t.Errorf("quoted %v PCRs differ from ReadPCRs (-read +quoted):\n%s", bank, diff)
				}
			}
		})
	}
}

func TestQuoteRejects(t *testing.T) {
	d := openSim(t, 21)
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.Quote(ak, make([]byte, MaxNonce+1), eventlog.SHA256); err == nil {
		t.Error("Quote with a 65-byte nonce = nil error, want error")
	}
	if _, _, _, err := d.Quote(nil, nil, eventlog.SHA256); err == nil {
		t.Error("Quote with a nil AK = nil error, want error")
	}
	if _, _, _, err := d.Quote(ak, nil, eventlog.SM3256); err == nil {
		t.Error("Quote of an inactive bank = nil error, want error")
	}
	if _, _, _, err := d.Quote(ak, nil); err == nil {
		t.Error("Quote of no bank = nil error, want error")
	}
}

// TestActivateCredential makes the challenge in software with go-tpm's
// CreateCredential (as the verifier does) and checks that the TPM returns
// the secret for its own AK and refuses one made for another key's name.
func TestActivateCredential(t *testing.T) {
	d := openSim(t, 22)
	ekPub, _, err := d.EK()
	if err != nil {
		t.Fatal(err)
	}
	ak, err := d.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	ek, err := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := tpm2.ImportEncapsulationKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	blob, enc, err := tpm2.CreateCredential(rand.Reader, kem, ak.Name(), secret)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.ActivateCredential(ak, blob, enc)
	if err != nil {
		t.Fatalf("ActivateCredential: %v", err)
	}
	if !bytes.Equal(got, secret) {
		t.Errorf("ActivateCredential = %x, want %x", got, secret)
	}

	// The same challenge bound to another object's name (a second AK) must
	// not open with this AK.
	other, err := d.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	blob, enc, err = tpm2.CreateCredential(rand.Reader, kem, other.Name(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ActivateCredential(ak, blob, enc); err == nil {
		t.Error("ActivateCredential for a challenge made for another AK's name = nil error, want error")
	}
}
