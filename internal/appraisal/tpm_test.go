package appraisal

// Test evidence made by the TCG reference TPM (go-tpm-tools' simulator), one
// per process, opened in TestMain. Each boot resets it (as a host reboots),
// extends the measurements, writes the matching event log and quotes.

import (
	"fmt"
	"os"
	"testing"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

var (
	sim    *simulator.Simulator
	simTPM transport.TPM
)

func TestMain(m *testing.M) {
	s, err := simulator.GetWithFixedSeedInsecure(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open TPM simulator:", err)
		os.Exit(1)
	}
	sim, simTPM = s, transport.FromReadWriter(s)
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// measurement is one boot event. The TPM is extended with the hash of
// measured (data when nil); the log records logged (data when nil), so a
// test can make the log lie about what the TPM saw.
type measurement struct {
	pcr      int
	typ      eventlog.EventType
	data     []byte
	measured []byte
	// unlogged: extend the TPM but leave the event out of the log, as
	// software after boot does.
	unlogged bool
	// logOnly: write the event to the log without extending the TPM.
	logOnly bool
	// logDigests overrides the digests written to the log (per bank).
	logDigests map[eventlog.Alg][]byte
}

// akKind selects which key quotes.
type akKind int

const (
	akECC      akKind = iota // the host's enrolled ECC P-256 AK
	akOtherECC               // another ECC key in the same TPM: not enrolled
	akRSA                    // an RSA-2048 AK (RSASSA)
)

// simHost is one boot of the simulator.
type simHost struct {
	t     testing.TB
	log   []byte
	banks []eventlog.Alg
	aks   map[akKind]tpm2.NamedHandle
	pubs  map[akKind][]byte
}

// simBanks are the PCR banks the reference TPM allocates by default that a
// log can declare.
var simBanks = []eventlog.Alg{eventlog.SHA1, eventlog.SHA256, eventlog.SHA384}

// boot resets the TPM, extends the measurements and writes the log with
// the given banks.
func boot(t testing.TB, logBanks []eventlog.Alg, ms []measurement) *simHost {
	t.Helper()
	if err := sim.Reset(); err != nil {
		t.Fatalf("reset TPM simulator: %v", err)
	}
	w := eventlog.NewWriter(logBanks)
	for i, m := range ms {
		measured := m.measured
		if measured == nil {
			measured = m.data
		}
		if !m.logOnly {
			var ds []tpm2.TPMTHA
			for _, b := range simBanks {
				ds = append(ds, tpm2.TPMTHA{HashAlg: tpm2.TPMIAlgHash(b), Digest: b.Sum(measured)})
			}
			ext := tpm2.PCRExtend{
				PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(m.pcr), Auth: tpm2.PasswordAuth(nil)},
				Digests:   tpm2.TPMLDigestValues{Digests: ds},
			}
			if _, err := ext.Execute(simTPM); err != nil {
				t.Fatalf("extend PCR %d (measurement %d): %v", m.pcr, i, err)
			}
		}
		if m.unlogged {
			continue
		}
		ds := eventlog.Digests(logBanks, measured)
		for j := range ds {
			if d, ok := m.logDigests[ds[j].Alg]; ok {
				ds[j].Value = d
			}
		}
		if err := w.Append(m.pcr, m.typ, ds, m.data); err != nil {
			t.Fatal(err)
		}
	}
	h := &simHost{t: t, log: append([]byte(nil), w.Bytes()...), banks: logBanks,
		aks: map[akKind]tpm2.NamedHandle{}, pubs: map[akKind][]byte{}}
	return h
}

func akTemplate(kind akKind) tpm2.TPMTPublic {
	attrs := tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
		UserWithAuth: true, NoDA: true, Restricted: true, SignEncrypt: true}
	if kind == akRSA {
		return tpm2.TPMTPublic{Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Scheme: tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSASSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256})},
				KeyBits: 2048,
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: make([]byte, 256)}),
		}
	}
	unique := []byte("bootproof test AK")
	if kind == akOtherECC {
		unique = []byte("someone else's key")
	}
	return tpm2.TPMTPublic{Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
			CurveID: tpm2.TPMECCNistP256,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: unique}, Y: tpm2.TPM2BECCParameter{Buffer: nil}}),
	}
}

// ak returns the handle of an AK, creating it (deterministically from the
// simulator's fixed seed) on first use in this boot.
func (h *simHost) ak(kind akKind) tpm2.NamedHandle {
	if hd, ok := h.aks[kind]; ok {
		return hd
	}
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(akTemplate(kind))}.Execute(simTPM)
	if err != nil {
		h.t.Fatalf("create AK: %v", err)
	}
	nh := tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}
	h.aks[kind] = nh
	h.pubs[kind] = rsp.OutPublic.Bytes()
	return nh
}

// akPublic is the TPMT_PUBLIC of an AK, as enrolment stores it.
func (h *simHost) akPublic(kind akKind) []byte {
	h.ak(kind)
	return h.pubs[kind]
}

// quote asks the TPM for a quote over pcrs of one bank and reads the PCR
// values, as the agent does.
func (h *simHost) quote(kind akKind, bank eventlog.Alg, pcrs []int, nonce []byte) wire.Quote {
	h.t.Helper()
	return h.quoteBanks(kind, []eventlog.Alg{bank}, pcrs, nonce)
}

// quoteBanks asks the TPM for one quote over pcrs of every bank in banks,
// in that order, and reads the PCR values, as the agent does.
func (h *simHost) quoteBanks(kind akKind, banks []eventlog.Alg, pcrs []int, nonce []byte) wire.Quote {
	h.t.Helper()
	sel := make([]uint, len(pcrs))
	for i, p := range pcrs {
		sel[i] = uint(p)
	}
	var selection tpm2.TPMLPCRSelection
	for _, bank := range banks {
		selection.PCRSelections = append(selection.PCRSelections,
			tpm2.TPMSPCRSelection{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: tpm2.PCClientCompatible.PCRs(sel...)})
	}
	rsp, err := tpm2.Quote{
		SignHandle:     tpm2.AuthHandle{Handle: h.ak(kind).Handle, Name: h.ak(kind).Name, Auth: tpm2.PasswordAuth(nil)},
		QualifyingData: tpm2.TPM2BData{Buffer: nonce},
		InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
		PCRSelect:      selection,
	}.Execute(simTPM)
	if err != nil {
		h.t.Fatalf("quote %v: %v", banks, err)
	}
	q := wire.Quote{Attest: rsp.Quoted.Bytes(), Signature: tpm2.Marshal(rsp.Signature), PCRs: map[string]map[int][]byte{}}
	for _, bank := range banks {
		vals := map[int][]byte{}
		for _, p := range pcrs {
			rd, err := tpm2.PCRRead{PCRSelectionIn: tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
				{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: tpm2.PCClientCompatible.PCRs(uint(p))}}}}.Execute(simTPM)
			if err != nil || len(rd.PCRValues.Digests) != 1 {
				h.t.Fatalf("read %v PCR %d: %v", bank, p, err)
			}
			vals[p] = rd.PCRValues.Digests[0].Buffer
		}
		q.PCRs[bank.String()] = vals
	}
	return q
}

// pcrRange lists PCR lo..hi.
func pcrRange(lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}
