package uefi

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"slices"
)

// maxSignatures bounds the entries of one signature database; a dbx of
// 2024 has about 430.
const maxSignatures = 1 << 16

// Cert is an X.509 certificate from a signature list or an authority event.
type Cert struct {
	Owner  GUID // the SignatureOwner, zero for a bare certificate
	DER    []byte
	SHA256 [32]byte // fingerprint: SHA-256 of DER
	// Subject and Issuer (RFC 2253 form) are filled by ReadNames; parsing
	// does not read them, because only people need them and reading them
	// for every PK, KEK and db entry at every attestation was a large part
	// of an appraisal's cost.
	Subject string
	Issuer  string
	// ParseErr is set by ReadNames when not even the names could be read;
	// it holds Go's x509 parser's reason. Names are read leniently from the
	// TBS, so certificates Go refuses (negative serial numbers and
	// duplicate extensions occur in real PKs and dbs) still show their
	// subject.
	ParseErr string
}

// ReadNames fills Subject and Issuer (and ParseErr when they cannot be
// read). It reads only names: nothing here verifies a signature.
func (c *Cert) ReadNames() {
	if c.Subject != "" || c.Issuer != "" || c.ParseErr != "" {
		return
	}
	if c.Subject, c.Issuer = lenientNames(c.DER); c.Subject != "" || c.Issuer != "" {
		return
	}
	if _, err := x509.ParseCertificate(c.DER); err != nil {
		c.ParseErr = err.Error()
	} else {
		c.ParseErr = "no subject or issuer name"
	}
}

// Hash is a hash entry of a signature list (EFI_CERT_SHA256 etc.).
type Hash struct {
	Owner GUID
	Alg   string // "sha256", "sha1", "sha384", "sha512"
	Value []byte
}

// Signature is an entry of a type bootproof does not interpret (RSA-2048
// keys, X509 hashes): kept raw so nothing is silently dropped.
type Signature struct {
	Type  GUID
	Owner GUID
	Data  []byte
}

// SignatureDB is a parsed signature database variable (PK, KEK, db, dbx): a
// sequence of EFI_SIGNATURE_LISTs.
type SignatureDB struct {
	Certs  []Cert
	Hashes []Hash
	Other  []Signature
}

var hashTypes = map[GUID]struct {
	name string
	size int
}{
	CertSHA256: {"sha256", 32}, CertSHA1: {"sha1", 20},
	CertSHA384: {"sha384", 48}, CertSHA512: {"sha512", 64},
}

// ParseSignatureLists reads a signature database: EFI_SIGNATURE_LISTs
// (UEFI 2.10 §32.4.1) back to back, each a SignatureType GUID,
// SignatureListSize, SignatureHeaderSize, SignatureSize, a header, then
// EFI_SIGNATURE_DATA entries (owner GUID and data) of SignatureSize bytes.
// Data slices alias b.
func ParseSignatureLists(b []byte) (*SignatureDB, error) {
	db := &SignatureDB{}
	_, err := walkSignatureLists(b, db)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// CountSignatureLists checks b as ParseSignatureLists does and returns how
// many entries it holds, without building them: for a dbx of hundreds of
// revoked hashes that only its count and, on demand, its entries need.
func CountSignatureLists(b []byte) (int, error) {
	return walkSignatureLists(b, nil)
}

// walkSignatureLists checks every list of b and, when db is not nil, adds
// its entries to db. It returns the number of entries.
func walkSignatureLists(b []byte, db *SignatureDB) (int, error) {
	n := 0
	for off := 0; off < len(b); {
		const hdr = 16 + 4 + 4 + 4
		if len(b)-off < hdr {
			return 0, fmt.Errorf("parse signature list at offset %d: %d bytes, header needs %d", off, len(b)-off, hdr)
		}
		var typ GUID
		copy(typ[:], b[off:])
		listSize := uint64(binary.LittleEndian.Uint32(b[off+16:]))
		headerSize := uint64(binary.LittleEndian.Uint32(b[off+20:]))
		sigSize := uint64(binary.LittleEndian.Uint32(b[off+24:]))
		if listSize < hdr || listSize > uint64(len(b)-off) {
			return 0, fmt.Errorf("parse signature list at offset %d: list size %d, %d bytes left", off, listSize, len(b)-off)
		}
		if headerSize > listSize-hdr {
			return 0, fmt.Errorf("parse signature list at offset %d: header size %d exceeds list size %d", off, headerSize, listSize)
		}
		body := listSize - hdr - headerSize
		if sigSize < 16 || body%sigSize != 0 {
			return 0, fmt.Errorf("parse signature list at offset %d: %d bytes of signatures is not a multiple of signature size %d (minimum 16)", off, body, sigSize)
		}
		count := body / sigSize
		if n += int(min(count, maxSignatures+1)); n > maxSignatures {
			return 0, fmt.Errorf("parse signature list at offset %d: more than %d signatures", off, maxSignatures)
		}
		ht, isHash := hashTypes[typ]
		if isHash && count > 0 && sigSize-16 != uint64(ht.size) {
			return 0, fmt.Errorf("parse signature list at offset %d: %s entry 0 has %d bytes, want %d", off, ht.name, sigSize-16, ht.size)
		}
		if db != nil {
			addEntries(db, typ, ht.name, b[uint64(off)+hdr+headerSize:uint64(off)+listSize], int(sigSize), int(count))
		}
		off += int(listSize)
	}
	return n, nil
}

// addEntries adds the count entries of one list's body to db.
func addEntries(db *SignatureDB, typ GUID, hashName string, body []byte, sigSize, count int) {
	switch {
	case typ == CertX509:
		db.Certs = slices.Grow(db.Certs, count)
	case hashName != "":
		db.Hashes = slices.Grow(db.Hashes, count)
	}
	for at := 0; at+sigSize <= len(body); at += sigSize {
		entry := body[at : at+sigSize : at+sigSize]
		var owner GUID
		copy(owner[:], entry)
		data := entry[16:]
		switch {
		case typ == CertX509:
			db.Certs = append(db.Certs, parseCert(owner, data))
		case hashName != "":
			db.Hashes = append(db.Hashes, Hash{Owner: owner, Alg: hashName, Value: data})
		default:
			db.Other = append(db.Other, Signature{Type: typ, Owner: owner, Data: data})
		}
	}
}

// parseCert fingerprints a certificate. It never fails: an unreadable
// certificate is still an entry of the database. Its names are read on
// demand (Cert.ReadNames).
func parseCert(owner GUID, der []byte) Cert {
	return Cert{Owner: owner, DER: der, SHA256: sha256.Sum256(der)}
}

// lenientNames reads subject and issuer from the TBSCertificate without the
// checks x509.ParseCertificate makes (RFC 5280 §4.1).
func lenientNames(der []byte) (subject, issuer string) {
	var cert struct {
		TBS asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return "", ""
	}
	var tbs struct {
		Version  asn1.RawValue `asn1:"optional,explicit,tag:0"`
		Serial   asn1.RawValue
		SigAlg   asn1.RawValue
		Issuer   asn1.RawValue
		Validity asn1.RawValue
		Subject  asn1.RawValue
	}
	if _, err := asn1.UnmarshalWithParams(cert.TBS.FullBytes, &tbs, ""); err != nil {
		return "", ""
	}
	name := func(raw []byte) string {
		var rdn pkix.RDNSequence
		if _, err := asn1.Unmarshal(raw, &rdn); err != nil {
			return ""
		}
		var n pkix.Name
		n.FillFromRDNSequence(&rdn)
		return n.String()
	}
	return name(tbs.Subject.FullBytes), name(tbs.Issuer.FullBytes)
}

// EncodeSignatureList builds a signature database holding the given DER
// certificates: one EFI_CERT_X509 list per certificate (a list's entries
// share one size), each owned by BootproofOwner. The result is the value of
// a PK, KEK or db variable as firmware measures it.
func EncodeSignatureList(certs ...[]byte) []byte {
	var out []byte
	for _, der := range certs {
		sigSize := 16 + len(der)
		out = append(out, CertX509[:]...)
		out = binary.LittleEndian.AppendUint32(out, uint32(28+sigSize))
		out = binary.LittleEndian.AppendUint32(out, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(sigSize))
		out = append(out, BootproofOwner[:]...)
		out = append(out, der...)
	}
	return out
}
