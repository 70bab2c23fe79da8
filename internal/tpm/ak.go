package tpm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// SRKTemplate is the storage root key's template: the TCG ECC P-256 SRK
// template (TCG TPM v2.0 Provisioning Guidance §7.5.1). The SRK is a primary
// key, recreated from the owner seed on every use; the same seed (the same
// TPM, or the simulator opened with the same seed) gives the same SRK, which
// is what lets an AK blob saved by one process load in the next. ECC rather
// than RSA because a TPM derives an ECC primary in milliseconds and an RSA
// one by searching for primes, which takes seconds on a discrete TPM.
var SRKTemplate = tpm2.ECCSRKTemplate

// AKTemplate is the attestation key's template: a restricted signing key
// (it signs only TPM-made structures such as quotes, never outside data that
// could mimic them), fixedTPM and fixedParent (it can never leave this TPM),
// sensitiveDataOrigin (the TPM made its private key), RSA 2048 with
// RSASSA-PKCS1-v1_5 and SHA-256. RSA rather than ECC: the key is made once
// per enrolment, but its signatures are checked at every attestation, and a
// verifier checks an RSA 2048 signature several times faster than an ECDSA
// P-256 one, which matters when one verifier watches a large fleet. Every
// PC Client TPM 2.0 supports it.
var AKTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgRSA,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		NoDA:                true,
		Restricted:          true,
		SignEncrypt:         true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
		Scheme: tpm2.TPMTRSAScheme{
			Scheme:  tpm2.TPMAlgRSASSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256}),
		},
		KeyBits: 2048,
	}),
	Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: make([]byte, 256)}),
}

// AK is an attestation key loaded in a Device's TPM.
type AK struct {
	dev    *Device
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
	pub    []byte // TPMT_PUBLIC
	priv   []byte // TPM2B_PRIVATE contents: sealed by the SRK, useless outside this TPM
}

// Public returns the AK's public area, TPMT_PUBLIC marshalled: what the
// verifier enrols and checks quotes with.
func (a *AK) Public() []byte { return bytes.Clone(a.pub) }

// Name returns the AK's TPM name (nameAlg || H(TPMT_PUBLIC)), the binding
// that credential activation proves.
func (a *AK) Name() []byte { return bytes.Clone(a.name.Buffer) }

// Blob returns what the agent stores to disk to use the AK after a restart:
// the marshalled TPM2B_PUBLIC followed by the marshalled TPM2B_PRIVATE. The
// private part is encrypted by the TPM under the SRK, so the blob is no
// secret outside this TPM; LoadAK reverses it.
func (a *AK) Blob() []byte {
	var b []byte
	b = append(b, tpm2.Marshal(tpm2.TPM2BPublic(tpm2.BytesAs2B[tpm2.TPMTPublic](a.pub)))...)
	b = append(b, tpm2.Marshal(tpm2.TPM2BPrivate{Buffer: a.priv})...)
	return b
}

// Close unloads the AK from the TPM. The blob stays valid.
func (a *AK) Close() error {
	a.dev.mu.Lock()
	defer a.dev.mu.Unlock()
	t, err := a.dev.transport()
	if err != nil {
		return err
	}
	if _, err := (tpm2.FlushContext{FlushHandle: a.handle}).Execute(t); err != nil {
		return fmt.Errorf("unload ak: %w", err)
	}
	return nil
}

// createSRK makes the storage root key; the caller flushes it.
func createSRK(t transport.TPM) (*tpm2.CreatePrimaryResponse, error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(SRKTemplate),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("create srk: %w", err)
	}
	return rsp, nil
}

// CreateAK makes a new attestation key under the SRK and loads it.
func (d *Device) CreateAK() (*AK, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, err
	}
	srk, err := createSRK(t)
	if err != nil {
		return nil, err
	}
	defer flush(t, srk.ObjectHandle)
	parent := tpm2.NamedHandle{Handle: srk.ObjectHandle, Name: srk.Name}
	rsp, err := tpm2.Create{ParentHandle: parent, InPublic: tpm2.New2B(AKTemplate)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("create ak: %w", err)
	}
	return d.load(t, parent, rsp.OutPublic.Bytes(), rsp.OutPrivate.Buffer)
}

// LoadAK loads an AK from a blob that CreateAK's AK.Blob returned, in this
// TPM or in an earlier run of it (the simulator reopened with the same seed,
// a host after a reboot). A blob from another TPM fails to load: its private
// part is sealed to that TPM's SRK.
func (d *Device) LoadAK(blob []byte) (*AK, error) {
	pub, priv, err := ParseAKBlob(blob)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, err
	}
	srk, err := createSRK(t)
	if err != nil {
		return nil, err
	}
	defer flush(t, srk.ObjectHandle)
	return d.load(t, tpm2.NamedHandle{Handle: srk.ObjectHandle, Name: srk.Name}, pub, priv)
}

func (d *Device) load(t transport.TPM, parent tpm2.NamedHandle, pub, priv []byte) (*AK, error) {
	rsp, err := tpm2.Load{
		ParentHandle: parent,
		InPrivate:    tpm2.TPM2BPrivate{Buffer: priv},
		InPublic:     tpm2.BytesAs2B[tpm2.TPMTPublic](pub),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("load ak: %w", err)
	}
	return &AK{dev: d, handle: rsp.ObjectHandle, name: rsp.Name, pub: pub, priv: priv}, nil
}

// ParseAKBlob splits a blob made by AK.Blob into the TPMT_PUBLIC and the
// TPM2B_PRIVATE contents. The blob comes from disk, so it is checked for
// size and shape: both parts must be present, the public part must parse as
// a TPMT_PUBLIC, and nothing may follow.
func ParseAKBlob(blob []byte) (pub, priv []byte, err error) {
	rest := blob
	pub, rest, err = sized(rest)
	if err != nil {
		return nil, nil, fmt.Errorf("parse ak blob: public part: %w", err)
	}
	priv, rest, err = sized(rest)
	if err != nil {
		return nil, nil, fmt.Errorf("parse ak blob: private part: %w", err)
	}
	if len(rest) != 0 {
		return nil, nil, fmt.Errorf("parse ak blob: %d bytes after the private part", len(rest))
	}
	if len(pub) == 0 || len(priv) == 0 {
		return nil, nil, fmt.Errorf("parse ak blob: empty public or private part")
	}
	if _, err := tpm2.Unmarshal[tpm2.TPMTPublic](pub); err != nil {
		return nil, nil, fmt.Errorf("parse ak blob: public part: %w", err)
	}
	return pub, priv, nil
}

// sized reads one TPM2B: a big-endian uint16 size and that many bytes.
func sized(b []byte) (body, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%d bytes, too short for a size", len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, fmt.Errorf("size %d but only %d bytes follow", n, len(b)-2)
	}
	return b[2 : 2+n], b[2+n:], nil
}
