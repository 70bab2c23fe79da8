package quote

// Signature is a TPMT_SIGNATURE of scheme RSASSA, RSAPSS or ECDSA (TPM 2.0
// Part 2 §11.3.4). RSA is set for the RSA schemes, R and S for ECDSA; the
// slices alias the input of ParseSignature.
type Signature struct {
	Alg  uint16 // sigAlg: AlgRSASSA, AlgRSAPSS or AlgECDSA
	Hash uint16 // the hash the TPM signed with
	RSA  []byte
	R, S []byte
}

// ParseSignature decodes b, which must be exactly one TPMT_SIGNATURE of
// scheme RSASSA, RSAPSS or ECDSA, with no trailing bytes. Errors are
// *ParseError. The hash is not checked here; VerifySignature refuses the
// ones it cannot trust.
func ParseSignature(b []byte) (*Signature, error) {
	r := reader{b: b, name: "TPMT_SIGNATURE"}
	alg, err := r.u16("sigAlg")
	if err != nil {
		return nil, err
	}
	s := &Signature{Alg: alg}
	switch alg {
	case AlgRSASSA, AlgRSAPSS:
		err = rsaSignature(&r, s)
	case AlgECDSA:
		err = eccSignature(&r, s)
	default:
		// A quote's key is an RSA or ECC signing key; HMAC, ECDAA, SM2,
		// ECSCHNORR and NULL signatures are not quote signatures here.
		return nil, r.failAt(0, "sigAlg", "algorithm 0x%04x is not RSASSA (0x0014), RSAPSS (0x0016) or ECDSA (0x0018)", alg)
	}
	if err != nil {
		return nil, err
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return s, nil
}

// rsaSignature reads a TPMS_SIGNATURE_RSA.
func rsaSignature(r *reader, s *Signature) error {
	var err error
	if s.Hash, err = r.u16("hash"); err != nil {
		return err
	}
	s.RSA, err = r.sized("sig")
	return err
}

// eccSignature reads a TPMS_SIGNATURE_ECC.
func eccSignature(r *reader, s *Signature) error {
	var err error
	if s.Hash, err = r.u16("hash"); err != nil {
		return err
	}
	if s.R, err = r.sized("signatureR"); err != nil {
		return err
	}
	s.S, err = r.sized("signatureS")
	return err
}
