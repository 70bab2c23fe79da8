package appraisal

import (
	"testing"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

// FuzzQuote feeds hostile TPMS_ATTEST and TPMT_SIGNATURE bytes to the quote
// parser and checker: they must return an error or a check, never panic,
// and never accept a quote the enrolled AK did not sign.
func FuzzQuote(f *testing.F) {
	h := boot(f, testBanks, standardBoot(f, bootOpts{secureBoot: true}))
	good := h.quoteBanks(akECC, testBanks, pcrRange(0, 9), testNonce)
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
		if _, err := ParseAttest(attest); err == nil && len(attest) == 0 {
			t.Fatal("empty TPMS_ATTEST accepted")
		}
		q, c := checkQuote(wire.Quote{Attest: attest, Signature: sig, PCRs: good.PCRs}, ak, testNonce)
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

// FuzzComponents feeds hostile event data to the component classifier: the
// data of a proven event is still whatever the host wrote (only its digest
// is proven), so names must be read without panics or unbounded output.
func FuzzComponents(f *testing.F) {
	f.Add(uint8(4), uint32(eventlog.EvEFIBootServicesApplication), imageLoadEvent(`\EFI\BOOT\BOOTX64.EFI`))
	f.Add(uint8(0), uint32(eventlog.EvEFIPlatformFirmwareBlob2), []byte{5, 'h', 'e', 'l', 'l', 'o', 0, 0})
	f.Add(uint8(0), uint32(eventlog.EvSCRTMVersion), utf16z("1.0"))
	f.Add(uint8(8), uint32(eventlog.EvIPL), []byte(kernelCmdline))
	f.Add(uint8(9), uint32(eventlog.EvIPL), []byte("/bundles/esx-base/s.v00\x00"))
	f.Add(uint8(12), uint32(eventlog.EvIPL), []byte{0xff, 0xfe, 0x00})
	f.Fuzz(func(t *testing.T, pcr uint8, typ uint32, data []byte) {
		e := eventlog.Event{PCR: int(pcr % 24), Type: eventlog.EventType(typ), Data: data,
			Digests: []eventlog.Digest{{Alg: eventlog.SHA256, Value: make([]byte, 32)}}}
		cs := extractComponents([]eventlog.Event{e}, func(int) []eventlog.Alg { return []eventlog.Alg{eventlog.SHA256} }, nil, nil)
		for _, c := range cs {
			if len(c.Name) > maxNameLen+len("…") || !utf8.ValidString(c.Name) {
				t.Fatalf("name %q: %d bytes or not UTF-8", c.Name, len(c.Name))
			}
		}
	})
}
