package runtimepolicy

import (
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
)

// Signature types (the first byte of security.ima / security.evm, enum
// evm_ima_xattr_type in the kernel's integrity.h).
const (
	// SigTypeDigsig is EVM_IMA_XATTR_DIGSIG: an IMA (or non-portable EVM)
	// signature, version 2 or 3.
	SigTypeDigsig = 0x03
	// SigTypePortable is EVM_XATTR_PORTABLE_DIGSIG: an EVM signature over
	// the file's metadata, version 2 or 3.
	SigTypePortable = 0x05
	// SigTypeVerity is IMA_VERITY_DIGSIG: a signature over the file's
	// fs-verity digest, version 3.
	SigTypeVerity = 0x06
)

// Typed signature errors, for errors.Is: the judge turns each into a
// decision, the integration may count them.
var (
	// ErrSigMalformed: the bytes are not a signature header (too short,
	// wrong type, a size that disagrees with the length).
	ErrSigMalformed = errors.New("malformed IMA signature")
	// ErrSigVersion: a version or hash algorithm this verifier does not
	// implement.
	ErrSigVersion = errors.New("unsupported IMA signature")
	// ErrUnknownKey: no trusted key has the signature's key id.
	ErrUnknownKey = errors.New("IMA signature by an unknown key")
	// ErrBadSignature: a trusted key has the key id and the signature does
	// not verify over the measured digest.
	ErrBadSignature = errors.New("IMA signature does not verify")
)

// sigHeaderLen is sizeof(struct signature_v2_hdr): type, version,
// hash_algo, keyid (big endian), sig_size (big endian).
const sigHeaderLen = 1 + 1 + 1 + 4 + 2

// kernelHashAlgs maps the kernel's enum hash_algo (uapi hash_info.h) to
// Go's hashes; the names are the kernel's hash_algo_name.
var kernelHashAlgs = map[byte]struct {
	name string
	hash crypto.Hash
}{
	2: {"sha1", crypto.SHA1},
	4: {"sha256", crypto.SHA256},
	5: {"sha384", crypto.SHA384},
	6: {"sha512", crypto.SHA512},
	7: {"sha224", crypto.SHA224},
}

// Signature is a parsed signature_v2_hdr and the signature after it.
type Signature struct {
	Type    byte
	Version byte
	// HashAlgo is the kernel's enum hash_algo; HashName and Hash its name
	// and Go hash (empty and 0 when unsupported).
	HashAlgo byte
	HashName string
	Hash     crypto.Hash
	// KeyID is the last four bytes of the signing key's identifier.
	KeyID uint32
	// Sig is the RSA PKCS#1 v1.5 signature or the DER ECDSA signature.
	Sig []byte
}

// ParseSignature reads the signature bytes an ima-sig, ima-modsig or
// evm-sig entry logs (the xattr's value). It checks the layout only; a
// version or algorithm Verify cannot check is ErrSigVersion.
func ParseSignature(b []byte) (*Signature, error) {
	if len(b) < sigHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrSigMalformed, len(b), sigHeaderLen)
	}
	s := &Signature{Type: b[0], Version: b[1], HashAlgo: b[2], KeyID: binary.BigEndian.Uint32(b[3:7])}
	size := int(binary.BigEndian.Uint16(b[7:9]))
	if len(b)-sigHeaderLen != size {
		return nil, fmt.Errorf("%w: header says %d signature bytes, %d follow", ErrSigMalformed, size, len(b)-sigHeaderLen)
	}
	if size == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrSigMalformed)
	}
	s.Sig = b[sigHeaderLen:]
	if err := s.checkTypeVersion(); err != nil {
		return nil, err
	}
	alg, ok := kernelHashAlgs[s.HashAlgo]
	if !ok {
		return nil, fmt.Errorf("%w: hash algorithm %d (kernel enum hash_algo), want sha1, sha224, sha256, sha384 or sha512", ErrSigVersion, s.HashAlgo)
	}
	s.HashName, s.Hash = alg.name, alg.hash
	return s, nil
}

// checkTypeVersion accepts what the kernel accepts: version 2 or 3 for
// IMA and EVM signatures (v3 since the kernel signs an ima_file_id for
// them too), version 3 for fs-verity ones (ima_appraise.c xattr_verify).
func (s *Signature) checkTypeVersion() error {
	switch s.Type {
	case SigTypeDigsig, SigTypePortable:
		if s.Version != 2 && s.Version != 3 {
			return fmt.Errorf("%w: type 0x%02x version %d, want version 2 or 3", ErrSigVersion, s.Type, s.Version)
		}
	case SigTypeVerity:
		if s.Version != 3 {
			return fmt.Errorf("%w: fs-verity signature version %d, want version 3", ErrSigVersion, s.Version)
		}
	default:
		return fmt.Errorf("%w: type 0x%02x, want 0x03 (IMA), 0x05 (EVM portable) or 0x06 (fs-verity)", ErrSigMalformed, s.Type)
	}
	return nil
}

// SignedDigest is what the key signed for a file whose digest (in the
// signature's algorithm) is digest. Version 2 signs the digest itself
// (the kernel's asymmetric_verify passes it as the message digest).
// Version 3 signs the hash of struct ima_file_id {hash_type, hash_algorithm,
// hash[digest size]} (calc_file_id_hash, and ima-evm-utils'
// calc_hash_sigv3), in the same algorithm; hash_type is the signature's
// type.
func (s *Signature) SignedDigest(digest []byte) []byte {
	if s.Version != 3 {
		return digest
	}
	h := s.Hash.New()
	h.Write([]byte{s.Type, s.HashAlgo})
	h.Write(digest)
	return h.Sum(nil)
}
