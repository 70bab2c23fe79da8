package appraisal

import (
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

// FuzzQuote feeds hostile TPMS_ATTEST and TPMT_SIGNATURE bytes to the quote
// parser and checker: they must return an error or a check, never panic,
// and never accept a quote the enrolled AK did not sign.
func FuzzQuote(f *testing.F) {
	h := boot(f, testBanks, standardBoot(f, bootOpts{secureBoot: true}))
	good := h.quote(akECC, eventlog.SHA256, pcrRange(0, 9), testNonce)
	rsa := h.quote(akRSA, eventlog.SHA256, pcrRange(0, 3), testNonce)
	f.Add(good.Attest, good.Signature)
	f.Add(rsa.Attest, rsa.Signature)
	f.Add(good.Attest[:len(good.Attest)/2], good.Signature[:4])
	f.Add([]byte{0xff, 0x54, 0x43, 0x47, 0x80, 0x18}, []byte{0x00, 0x18})
	f.Add([]byte{}, []byte{})
	ak, err := akKey(h.akPublic(akECC))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, attest, sig []byte) {
		if _, _, err := ParseAttest(attest); err == nil && len(attest) == 0 {
			t.Fatal("empty TPMS_ATTEST accepted")
		}
		q, c := checkQuote(wire.Quote{Bank: "sha256", Attest: attest, Signature: sig, PCRs: good.PCRs}, ak, testNonce)
		if (q == nil) == (c == nil) {
			t.Fatalf("checkQuote returned quote %v and check %v", q, c)
		}
		if q != nil && (string(attest) != string(good.Attest) || string(sig) != string(good.Signature)) {
			// A different encoding of the same signed bytes cannot verify
			// unless it is a valid signature over attest by the AK:
			// ECDSA signatures are malleable (s and n-s), attest is not.
			if string(attest) != string(good.Attest) {
				t.Fatalf("accepted a TPMS_ATTEST the AK never signed: %x", attest)
			}
		}
	})
}
