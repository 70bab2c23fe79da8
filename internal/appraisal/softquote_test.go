package appraisal

// Quotes signed by a software key marshalled into go-tpm structures, for
// real corpus logs whose PCR values come from pcrs.json rather than from the
// simulator. The structures are the TPM's; only the signer is software.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

// softwareAK is an ECDSA P-256 key (or, with rsaKey set, an RSA 2048
// RSASSA-SHA256 key) standing in for a TPM's AK.
type softwareAK struct {
	key    *ecdsa.PrivateKey
	rsaKey *rsa.PrivateKey
}

// newSoftwareRSAAK is an RSA 2048 software AK, the shape of the AK bootproof's
// agent makes (its signatures verify fastest).
func newSoftwareRSAAK(t testing.TB) *softwareAK {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &softwareAK{rsaKey: k}
}

func newSoftwareAK(t testing.TB) *softwareAK {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &softwareAK{key: k}
}

// public is the key as a TPMT_PUBLIC, as enrolment would store it.
func (ak *softwareAK) public() []byte {
	if ak.rsaKey != nil {
		pub := akTemplate(akRSA)
		pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: ak.rsaKey.N.Bytes()})
		return tpm2.Marshal(pub)
	}
	pub := akTemplate(akECC)
	raw, err := ak.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	x, y := raw[1:33], raw[33:]
	pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: x}, Y: tpm2.TPM2BECCParameter{Buffer: y}})
	return tpm2.Marshal(pub)
}

// unrestrictedAK is an AK whose key could sign any digest: it must be
// refused, since with it a host can forge a quote.
func unrestrictedAK(t testing.TB) []byte {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](newSoftwareAK(t).public())
	if err != nil {
		t.Fatal(err)
	}
	pub.ObjectAttributes.Restricted = false
	return tpm2.Marshal(pub)
}

// quote builds and signs a TPMS_ATTEST over the given PCR values of one bank.
func (ak *softwareAK) quote(t testing.TB, bank eventlog.Alg, pcrs map[int][]byte, nonce []byte, clock ClockInfo) wire.Quote {
	t.Helper()
	return ak.quoteBanks(t, []eventlog.Alg{bank}, eventlog.PCRValues{bank: pcrs}, nonce, clock)
}

// quoteBanks builds and signs one TPMS_ATTEST over the given PCR values of
// every bank in banks, selected in that order, as one TPM2_Quote over
// several banks makes it.
func (ak *softwareAK) quoteBanks(t testing.TB, banks []eventlog.Alg, vals eventlog.PCRValues, nonce []byte, clock ClockInfo) wire.Quote {
	t.Helper()
	h := sha256.New()
	var sel tpm2.TPMLPCRSelection
	sent := map[string]map[int][]byte{}
	for _, bank := range banks {
		var idx []uint
		for p := range vals[bank] {
			idx = append(idx, uint(p))
		}
		sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
		for _, p := range idx {
			h.Write(vals[bank][int(p)])
		}
		sel.PCRSelections = append(sel.PCRSelections, tpm2.TPMSPCRSelection{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: tpm2.PCClientCompatible.PCRs(idx...)})
		sent[bank.String()] = vals[bank]
	}
	att := tpm2.TPMSAttest{
		Magic:           tpm2.TPMGeneratedValue,
		Type:            tpm2.TPMSTAttestQuote,
		QualifiedSigner: tpm2.TPM2BName{Buffer: ak.name()},
		ExtraData:       tpm2.TPM2BData{Buffer: nonce},
		ClockInfo: tpm2.TPMSClockInfo{Clock: clock.Clock, ResetCount: clock.ResetCount,
			RestartCount: clock.RestartCount, Safe: tpm2.TPMIYesNo(clock.Safe)},
		Attested: tpm2.NewTPMUAttest(tpm2.TPMSTAttestQuote, &tpm2.TPMSQuoteInfo{
			PCRSelect: sel,
			PCRDigest: tpm2.TPM2BDigest{Buffer: h.Sum(nil)},
		}),
	}
	b := tpm2.Marshal(&att)
	d := sha256.Sum256(b)
	if ak.rsaKey != nil {
		sigBytes, err := rsa.SignPKCS1v15(rand.Reader, ak.rsaKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgRSASSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgRSASSA,
			&tpm2.TPMSSignatureRSA{Hash: tpm2.TPMAlgSHA256, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: sigBytes}})}
		return wire.Quote{Attest: b, Signature: tpm2.Marshal(&sig), PCRs: sent}
	}
	r, s, err := ecdsa.Sign(rand.Reader, ak.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgECDSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDSA, &tpm2.TPMSSignatureECC{
		Hash: tpm2.TPMAlgSHA256, SignatureR: tpm2.TPM2BECCParameter{Buffer: r.Bytes()}, SignatureS: tpm2.TPM2BECCParameter{Buffer: s.Bytes()}})}
	return wire.Quote{Attest: b, Signature: tpm2.Marshal(&sig), PCRs: sent}
}

// name is the AK's TPM name: nameAlg (SHA-256) || SHA-256(TPMT_PUBLIC).
func (ak *softwareAK) name() []byte {
	sum := sha256.Sum256(ak.public())
	return append([]byte{0x00, 0x0B}, sum[:]...)
}

// corpusCase is one case of ../shared/testdata/eventlogs (its README.md).
type corpusCase struct {
	Name string
	Log  []byte
	PCRs eventlog.PCRValues
	Meta struct {
		Format             *string `json:"format"`
		SecureBoot         *bool   `json:"secure_boot"`
		Expect             string  `json:"expect"`
		PCRsOutsideLog     []int   `json:"pcrs_outside_log"`
		RequiresWorkaround string  `json:"requires_workaround"`
	}
}

// corpusRoot is ../shared/testdata/eventlogs beside the repository root
// (internal/corpus skips the test where it is absent).
func corpusRoot(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(corpus.SharedDir(tb), "testdata", "eventlogs")
}

// loadCorpusCase reads one case with its pcrs.json.
func loadCorpusCase(tb testing.TB, root, name string) corpusCase {
	tb.Helper()
	c := corpusCase{Name: name}
	dir := filepath.Join(root, filepath.FromSlash(name))
	var err error
	if c.Log, err = os.ReadFile(filepath.Join(dir, "eventlog.bin")); err != nil {
		tb.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(meta, &c.Meta); err != nil {
		tb.Fatalf("%s: case.json: %v", name, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pcrs.json")); err == nil {
		if c.PCRs, err = eventlog.ParsePCRValues(b); err != nil {
			tb.Fatalf("%s: pcrs.json: %v", name, err)
		}
	}
	return c
}

// corpusEvidence quotes every bank of the case's pcrs.json with a software
// AK in one quote, as the agent does.
func corpusEvidence(tb testing.TB, c corpusCase, ak *softwareAK) *wire.Evidence {
	ev := &wire.Evidence{Nonce: testNonce, TPMFamily: wire.FamilyTPM20, EventLog: c.Log}
	ev.Quotes = []wire.Quote{ak.quoteBanks(tb, c.PCRs.Banks(), c.PCRs, testNonce, ClockInfo{Clock: 1000, ResetCount: 3})}
	return ev
}
