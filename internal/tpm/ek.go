package tpm

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// EKCertNVIndex is where a TPM maker stores the RSA 2048 EK certificate (TCG
// EK Credential Profile 2.0, §2.2.1.4, low range).
const EKCertNVIndex tpm2.TPMHandle = 0x01C00002

// EKTemplate is the template of the EK this package uses: the TCG default
// RSA 2048 EK template (EK Credential Profile 2.0, template L-1: AES-128-CFB
// storage key, PolicySecret(TPM_RH_ENDORSEMENT) as its auth policy, a
// 256-byte zero unique field). It is the template TPM makers certify, so the
// EK made from it matches the certificate in EKCertNVIndex.
var EKTemplate = tpm2.RSAEKTemplate

// EK returns the endorsement key's public area (TPMT_PUBLIC, marshalled) and
// its certificate (DER) from EKCertNVIndex, or a nil certificate when the
// TPM has none (the simulator before ProvisionEKCert, many vTPMs). The EK
// is recreated from the endorsement seed with EKTemplate each time: the same
// TPM always gives the same key.
func (d *Device) EK() (pub []byte, cert []byte, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return nil, nil, err
	}
	ek, err := loadEK(t)
	if err != nil {
		return nil, nil, err
	}
	ek.release(t)
	cert, err = readNV(t, EKCertNVIndex)
	if errors.Is(err, errNoIndex) {
		return ek.pub, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read ek certificate: %w", err)
	}
	return ek.pub, cert, nil
}

// EKPersistentHandle is where the TCG Provisioning Guidance (§7.8) keeps
// the RSA 2048 EK made from the default template, when the platform
// persisted it.
const EKPersistentHandle tpm2.TPMHandle = 0x81010001

// ekObject is the EK as loaded for use: a persistent object the platform
// made, or a transient one this package created and must flush.
type ekObject struct {
	handle    tpm2.TPMHandle
	name      tpm2.TPM2BName
	pub       []byte // TPMT_PUBLIC
	transient bool
}

func (e *ekObject) release(t transport.TPM) {
	if e.transient {
		flush(t, e.handle)
	}
}

// loadEK finds the EK. A persisted EK at EKPersistentHandle is used when it
// has the default template's shape (RSA 2048 restricted decryption key with
// the PolicySecret(TPM_RH_ENDORSEMENT) policy): on a real TPM that saves a
// CreatePrimary that searches for RSA primes for seconds. Otherwise the EK is
// created from EKTemplate; both give the same key, the one the maker
// certified.
func loadEK(t transport.TPM) (*ekObject, error) {
	if rsp, err := (tpm2.ReadPublic{ObjectHandle: EKPersistentHandle}).Execute(t); err == nil {
		if p, err := rsp.OutPublic.Contents(); err == nil && isDefaultEK(p) {
			return &ekObject{handle: EKPersistentHandle, name: rsp.Name, pub: rsp.OutPublic.Bytes()}, nil
		}
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHEndorsement,
		InPublic:      tpm2.New2B(EKTemplate),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("create ek: %w", err)
	}
	return &ekObject{handle: rsp.ObjectHandle, name: rsp.Name, pub: rsp.OutPublic.Bytes(), transient: true}, nil
}

// isDefaultEK reports whether a public area has EKTemplate's type,
// attributes, policy and parameters (everything but the key itself).
func isDefaultEK(p *tpm2.TPMTPublic) bool {
	want := EKTemplate
	if p.Type != want.Type || p.NameAlg != want.NameAlg || p.ObjectAttributes != want.ObjectAttributes ||
		!bytes.Equal(p.AuthPolicy.Buffer, want.AuthPolicy.Buffer) {
		return false
	}
	got, err1 := p.Parameters.RSADetail()
	exp, err2 := want.Parameters.RSADetail()
	return err1 == nil && err2 == nil && bytes.Equal(tpm2.Marshal(got), tpm2.Marshal(exp))
}

// errNoIndex reports an NV index that is not defined.
var errNoIndex = errors.New("nv index not defined")

// readNV reads a whole NV index in chunks of at most the TPM's
// TPM_PT_NV_BUFFER_MAX bytes.
func readNV(t transport.TPM, idx tpm2.TPMHandle) ([]byte, error) {
	pubRsp, err := tpm2.NVReadPublic{NVIndex: idx}.Execute(t)
	if errors.Is(err, tpm2.TPMRCHandle) {
		return nil, fmt.Errorf("nv index 0x%08x: %w", uint32(idx), errNoIndex)
	}
	if err != nil {
		return nil, fmt.Errorf("read public area of nv index 0x%08x: %w", uint32(idx), err)
	}
	pub, err := pubRsp.NVPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("parse public area of nv index 0x%08x: %w", uint32(idx), err)
	}
	chunk, err := nvBufferMax(t)
	if err != nil {
		return nil, err
	}
	// An index with AUTHREAD is read with its own (empty) auth value, as
	// makers set it for the EK certificate; otherwise the owner reads it.
	auth := tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)}
	if pub.Attributes.AuthRead {
		auth = tpm2.AuthHandle{Handle: idx, Name: pubRsp.NVName, Auth: tpm2.PasswordAuth(nil)}
	}
	out := make([]byte, 0, pub.DataSize)
	for off := uint16(0); off < pub.DataSize; {
		n := pub.DataSize - off
		if n > chunk {
			n = chunk
		}
		rsp, err := tpm2.NVRead{
			AuthHandle: auth,
			NVIndex:    tpm2.NamedHandle{Handle: idx, Name: pubRsp.NVName},
			Size:       n,
			Offset:     off,
		}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("read nv index 0x%08x at offset %d: %w", uint32(idx), off, err)
		}
		if len(rsp.Data.Buffer) != int(n) {
			return nil, fmt.Errorf("read nv index 0x%08x at offset %d: got %d bytes, want %d", uint32(idx), off, len(rsp.Data.Buffer), n)
		}
		out = append(out, rsp.Data.Buffer...)
		off += n
	}
	return out, nil
}

// nvBufferMax asks the TPM for the largest NV read or write it takes in one
// command (TPM_PT_NV_BUFFER_MAX; 1024 on the reference TPM).
func nvBufferMax(t transport.TPM) (uint16, error) {
	v, err := tpmProperty(t, tpm2.TPMPTNVBufferMax)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, errors.New("tpm reports TPM_PT_NV_BUFFER_MAX of 0")
	}
	return uint16(min(v, 0xffff)), nil
}

// tpmProperty reads one fixed TPM property (TPM2_GetCapability,
// TPM_CAP_TPM_PROPERTIES).
func tpmProperty(t transport.TPM, prop tpm2.TPMPT) (uint32, error) {
	rsp, err := tpm2.GetCapability{
		Capability:    tpm2.TPMCapTPMProperties,
		Property:      uint32(prop),
		PropertyCount: 1,
	}.Execute(t)
	if err != nil {
		return 0, fmt.Errorf("get tpm property 0x%x: %w", uint32(prop), err)
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil {
		return 0, fmt.Errorf("get tpm property 0x%x: %w", uint32(prop), err)
	}
	for _, p := range props.TPMProperty {
		if p.Property == prop {
			return p.Value, nil
		}
	}
	return 0, fmt.Errorf("get tpm property 0x%x: tpm did not report it", uint32(prop))
}

// ProvisionEKCert stores der as the EK certificate in EKCertNVIndex, the
// way a TPM maker does at manufacture: the index is defined by the platform
// hierarchy with the EK Credential Profile's attributes (PPWRITE,
// PLATFORMCREATE, PPREAD, OWNERREAD, AUTHREAD, NO_DA) and written in chunks.
// An existing certificate index is replaced. It needs platform authorization
// with an empty password, which only emulated TPMs (the simulator, a fresh
// swtpm) grant: on a real machine firmware sets platform auth at boot and
// this fails with an authorization error.
func (d *Device) ProvisionEKCert(der []byte) error {
	if len(der) == 0 || len(der) > 0xffff {
		return fmt.Errorf("provision ek certificate: %d bytes is not a certificate size", len(der))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.transport()
	if err != nil {
		return err
	}
	return provisionEKCert(t, der)
}

func provisionEKCert(t transport.TPM, der []byte) error {
	if max, err := tpmProperty(t, tpm2.TPMPTNVIndexMax); err == nil && uint32(len(der)) > max {
		return fmt.Errorf("provision ek certificate: %d bytes, the tpm's nv indices hold at most %d", len(der), max)
	}
	platform := tpm2.AuthHandle{Handle: tpm2.TPMRHPlatform, Auth: tpm2.PasswordAuth(nil)}
	if old, err := (tpm2.NVReadPublic{NVIndex: EKCertNVIndex}).Execute(t); err == nil {
		_, err = tpm2.NVUndefineSpace{
			AuthHandle: platform,
			NVIndex:    tpm2.NamedHandle{Handle: EKCertNVIndex, Name: old.NVName},
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("provision ek certificate: remove old index: %w", err)
		}
	}
	def := tpm2.NVDefineSpace{
		AuthHandle: platform,
		PublicInfo: tpm2.New2B(tpm2.TPMSNVPublic{
			NVIndex: EKCertNVIndex,
			NameAlg: tpm2.TPMAlgSHA256,
			Attributes: tpm2.TPMANV{
				PPWrite: true, PlatformCreate: true, PPRead: true,
				OwnerRead: true, AuthRead: true, NoDA: true,
				NT: tpm2.TPMNTOrdinary,
			},
			DataSize: uint16(len(der)),
		}),
	}
	if _, err := def.Execute(t); err != nil {
		return fmt.Errorf("provision ek certificate: define nv index: %w", err)
	}
	pub, err := tpm2.NVReadPublic{NVIndex: EKCertNVIndex}.Execute(t)
	if err != nil {
		return fmt.Errorf("provision ek certificate: read new index: %w", err)
	}
	chunk, err := nvBufferMax(t)
	if err != nil {
		return fmt.Errorf("provision ek certificate: %w", err)
	}
	for off := 0; off < len(der); off += int(chunk) {
		end := min(off+int(chunk), len(der))
		_, err := tpm2.NVWrite{
			AuthHandle: platform,
			NVIndex:    tpm2.NamedHandle{Handle: EKCertNVIndex, Name: pub.NVName},
			Data:       tpm2.TPM2BMaxNVBuffer{Buffer: der[off:end]},
			Offset:     uint16(off),
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("provision ek certificate: write at offset %d: %w", off, err)
		}
		// The index's name changes once WRITTEN is set; read it again.
		if pub, err = (tpm2.NVReadPublic{NVIndex: EKCertNVIndex}).Execute(t); err != nil {
			return fmt.Errorf("provision ek certificate: read index: %w", err)
		}
	}
	return nil
}
