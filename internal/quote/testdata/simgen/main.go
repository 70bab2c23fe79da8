// Command simgen writes the quotes in internal/quote/testdata: real
// TPM2_Quote output of the reference TPM simulator (seeded, so the keys are
// the same on every run; the signatures of ECDSA differ), for the decoders'
// tests to read what a TPM makes rather than what go-tpm marshals.
//
//	go run ./internal/quote/testdata/simgen internal/quote/testdata
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ak is a restricted signing key template with the given parameters.
func ak(typ tpm2.TPMAlgID, parms tpm2.TPMUPublicParms) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    typ,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
			UserWithAuth: true, Restricted: true, SignEncrypt: true},
		Parameters: parms,
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: simgen DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "simgen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	sim, err := simulator.GetWithFixedSeedInsecure(7)
	if err != nil {
		return err
	}
	defer sim.Close()
	t := transport.FromReadWriter(sim)
	keys := []struct {
		name string
		tmpl tpm2.TPMTPublic
	}{
		{"sim-rsassa", ak(tpm2.TPMAlgRSA, tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSASSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256})},
			KeyBits: 2048,
		}))},
		{"sim-rsapss", ak(tpm2.TPMAlgRSA, tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAPSS,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAPSS, &tpm2.TPMSSigSchemeRSAPSS{HashAlg: tpm2.TPMAlgSHA256})},
			KeyBits: 2048,
		}))},
		{"sim-ecdsa-p256", ak(tpm2.TPMAlgECC, tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
			CurveID: tpm2.TPMECCNistP256,
			KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}))},
		{"sim-ecdsa-p384", ak(tpm2.TPMAlgECC, tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA384})},
			CurveID: tpm2.TPMECCNistP384,
			KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}))},
	}
	// Two banks, all 24 PCRs each, as the agent quotes.
	sel := tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
		{Hash: tpm2.TPMAlgSHA1, PCRSelect: []byte{0xff, 0xff, 0xff}},
		{Hash: tpm2.TPMAlgSHA256, PCRSelect: []byte{0xff, 0xff, 0xff}},
	}}
	for i, k := range keys {
		rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(k.tmpl)}.Execute(t)
		if err != nil {
			return fmt.Errorf("%s: create: %w", k.name, err)
		}
		q, err := tpm2.Quote{
			SignHandle:     tpm2.AuthHandle{Handle: rsp.ObjectHandle, Name: rsp.Name, Auth: tpm2.PasswordAuth(nil)},
			QualifyingData: tpm2.TPM2BData{Buffer: []byte(fmt.Sprintf("bootproof quote test nonce %05d", i))},
			InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
			PCRSelect:      sel,
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("%s: quote: %w", k.name, err)
		}
		if _, err := (tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}).Execute(t); err != nil {
			return fmt.Errorf("%s: flush: %w", k.name, err)
		}
		files := map[string][]byte{
			k.name + ".tpmt_public":    rsp.OutPublic.Bytes(),
			k.name + ".attest":         q.Quoted.Bytes(),
			k.name + ".tpmt_signature": tpm2.Marshal(&q.Signature),
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
