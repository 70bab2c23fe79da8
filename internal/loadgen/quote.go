package loadgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/wire"
)

// firmwareVersion is what the reference TPM reports in TPMS_ATTEST.
const firmwareVersion = 0x2019_0723_0000_0000

// Quote does in software what TPM2_Quote does over every bank of im: marshal a
// TPMS_ATTEST (TPM_GENERATED magic, type quote, the AK's name as
// qualifiedSigner, the nonce as extraData, the clock, the firmware version,
// pcrSelect and pcrDigest) and sign its SHA-256 with the AK (ECDSA,
// TPMT_SIGNATURE, or RSASSA for an RSA AK). clock is the TPM clock in milliseconds; it must grow
// from one quote to the next, as the verifier checks.
func (s *SimulatedTPM) Quote(im *Image, nonce []byte, clock uint64) (wire.Quote, error) {
	t := &im.quoted
	att := tpm2.TPMSAttest{
		Magic:           tpm2.TPMGeneratedValue,
		Type:            tpm2.TPMSTAttestQuote,
		QualifiedSigner: tpm2.TPM2BName{Buffer: s.AKName},
		ExtraData:       tpm2.TPM2BData{Buffer: nonce},
		ClockInfo:       tpm2.TPMSClockInfo{Clock: clock, Safe: true},
		FirmwareVersion: firmwareVersion,
		Attested: tpm2.NewTPMUAttest(tpm2.TPMSTAttestQuote, &tpm2.TPMSQuoteInfo{
			PCRSelect: t.selection,
			PCRDigest: tpm2.TPM2BDigest{Buffer: t.digest},
		}),
	}
	raw := tpm2.Marshal(&att)
	d := sha256.Sum256(raw)
	var sig tpm2.TPMTSignature
	if s.akRSA != nil {
		sv, err := rsa.SignPKCS1v15(nil, s.akRSA, crypto.SHA256, d[:])
		if err != nil {
			return wire.Quote{}, fmt.Errorf("quote: sign: %w", err)
		}
		sig = tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgRSASSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgRSASSA,
			&tpm2.TPMSSignatureRSA{Hash: tpm2.TPMAlgSHA256, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: sv}})}
	} else {
		r, sv, err := ecdsa.Sign(rand.Reader, s.ak, d[:])
		if err != nil {
			return wire.Quote{}, fmt.Errorf("quote: sign: %w", err)
		}
		sig = tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgECDSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDSA,
			&tpm2.TPMSSignatureECC{Hash: tpm2.TPMAlgSHA256,
				SignatureR: tpm2.TPM2BECCParameter{Buffer: r.FillBytes(make([]byte, 32))},
				SignatureS: tpm2.TPM2BECCParameter{Buffer: sv.FillBytes(make([]byte, 32))}})}
	}
	return wire.Quote{Attest: raw, Signature: tpm2.Marshal(&sig), PCRs: t.pcrs}, nil
}

// Evidence answers nonce for a host booted as im: one quote over every
// bank, the log and the bundles, exactly the fields the agent fills.
func (s *SimulatedTPM) Evidence(im *Image, nonce []byte, clock uint64) (*wire.Evidence, error) {
	q, err := s.Quote(im, nonce, clock)
	if err != nil {
		return nil, err
	}
	return &wire.Evidence{Nonce: nonce, TPMFamily: wire.FamilyTPM20, EventLog: im.EventLog, Bundles: im.Bundles,
		Quotes: []wire.Quote{q}}, nil
}
