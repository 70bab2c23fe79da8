package enroll

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// The quirks of real TPM makers' certificate chains, and what VerifyEKCert
// does about each (the 251 CA certificates in shared/tpm-ek-roots exercise
// them; see its README):
//
//  1. SHA-1 signatures. Legacy Infineon intermediates (and their VeriSign
//     cross-certificate) are signed with sha1WithRSAEncryption, which
//     crypto/x509's Verify refuses on non-root certificates. We build the
//     path ourselves and check each link with Certificate.CheckSignature,
//     which still accepts SHA-1 (MD5 stays refused). Accepted deliberately:
//     a SHA-1 collision needs the CA to sign attacker-chosen data, and
//     these CAs sign only keys of chips they made. The chips are in
//     service, so refusing would refuse real hosts.
//  2. Issuer names encoded differently from the issuer's subject
//     (UTF8String vs PrintableString in STMicroelectronics' ECC chain).
//     Names are compared canonically (canonicalName), as OpenSSL does,
//     not byte for byte as crypto/x509 does.
//  3. Links by name and signature only. Legacy Infineon intermediates carry
//     an Authority Key Identifier naming an issuer serial that is in no
//     public source, while the same key is certified under another serial;
//     a path builder matching AKI/serial (OpenSSL) cannot link them. We
//     ignore AKI and accept any CA with the issuer's name whose key
//     verifies the signature, as keylime does.
//  4. Critical subject alternative name on EK certificates. EK certificates
//     have an empty subject and put the TPM's manufacturer, model and
//     version in a critical SAN directoryName; crypto/x509 leaves a SAN with
//     only a directoryName unhandled and Verify fails on it. We parse that
//     SAN ourselves (EKCert.TPM) and accept it; any other unhandled
//     critical extension is still refused, naming its OID.
//  5. Missing extended key usage. Many EK certificates carry no EKU; the
//     profile's tcg-kp-EKCertificate (2.23.133.8.1) is checked only when an
//     EKU is present. crypto/x509's EKU nesting rules are not applied to
//     the CAs (maker CAs rarely carry EKUs, and Go does not know TCG's).
//  6. Expired CAs. A chip's EK certificate outlives the intermediate that
//     issued it (IFX1.pem expired in 2025, its chips did not). The EK
//     certificate itself must be valid at the time of the check; each CA
//     must not have expired before the certificate below it was issued (its
//     notBefore), the rule for things signed once and used for years. A
//     CA's own notBefore is not held against the certificates it signed:
//     makers re-issue and cross-certify CA certificates after the CA began
//     signing (IFX_RSA_RT.pem starts 2005-10-25, IFX1.pem, which it signed,
//     2005-10-20; STM_ECC_01RT.pem and STM_ECC_01I.pem likewise).
//  7. Roots without a published parent (Alibaba Cloud vTPM CA): the
//     operator makes such a CA an anchor with TrustStore.AddAnchor.

// OIDs of the TCG EK Credential Profile.
var (
	oidEKCertificate   = asn1.ObjectIdentifier{2, 23, 133, 8, 1}
	oidTPMManufacturer = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
	oidTPMModel        = asn1.ObjectIdentifier{2, 23, 133, 2, 2}
	oidTPMVersion      = asn1.ObjectIdentifier{2, 23, 133, 2, 3}
	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// maxChain bounds the CAs in a path; real maker chains have one to three.
const maxChain = 8

// TPMInfo is what an EK certificate's SAN says about its TPM.
type TPMInfo struct {
	Manufacturer, Model, Version string
}

// EKCert is a parsed EK certificate.
type EKCert struct {
	Cert *x509.Certificate
	TPM  TPMInfo // from the SAN directoryName; empty when the certificate has none
}

// ParseEKCert parses an EK certificate (DER) and its TPM attributes. It
// checks its shape only, not its chain: see VerifyEKCert.
func ParseEKCert(der []byte) (*EKCert, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse ek certificate: %w: %v", ErrMalformed, err)
	}
	ek := &EKCert{Cert: c}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			if ek.TPM, err = parseTPMSAN(e.Value); err != nil {
				return nil, fmt.Errorf("parse ek certificate %s: subject alternative name: %w", describe(c), err)
			}
		}
	}
	return ek, nil
}

// parseTPMSAN reads the TPM attributes from a SAN's directoryName entries.
// Other GeneralName kinds are skipped.
func parseTPMSAN(v []byte) (TPMInfo, error) {
	var info TPMInfo
	var gns []asn1.RawValue
	if rest, err := asn1.Unmarshal(v, &gns); err != nil || len(rest) != 0 {
		return info, fmt.Errorf("%w: not a GeneralNames sequence", ErrMalformed)
	}
	for _, gn := range gns {
		if gn.Class != asn1.ClassContextSpecific || gn.Tag != 4 {
			continue
		}
		var rdns pkix.RDNSequence
		if rest, err := asn1.Unmarshal(gn.Bytes, &rdns); err != nil || len(rest) != 0 {
			return info, fmt.Errorf("%w: directoryName is not a Name", ErrMalformed)
		}
		for _, rdn := range rdns {
			for _, atv := range rdn {
				s, _ := atv.Value.(string)
				switch {
				case atv.Type.Equal(oidTPMManufacturer):
					info.Manufacturer = s
				case atv.Type.Equal(oidTPMModel):
					info.Model = s
				case atv.Type.Equal(oidTPMVersion):
					info.Version = s
				}
			}
		}
	}
	return info, nil
}

// VerifyEKCert checks that cert (DER) is an EK certificate for ekPub
// (TPMT_PUBLIC) issued through a CA in trust, and valid at now:
//
//   - it parses, is not a CA, and if it has an extended key usage, that
//     includes tcg-kp-EKCertificate;
//   - its public key equals the EK's (ErrKeyMismatch otherwise);
//   - now is inside its validity (ErrExpired);
//   - a path of CAs leads from it to an anchor of trust, each link checked
//     by canonical name and signature, each CA a CA (basic constraints, key
//     usage certSign when present, path length) not expired when the
//     certificate below it was issued, with no unknown critical extension
//     (ErrUntrustedCA, ErrExpired).
//
// The quirks of real maker chains it accepts are listed at the top of
// ekcert.go. Errors name the certificate and wrap one of the package's
// sentinel errors.
func VerifyEKCert(cert []byte, ekPub []byte, trust *TrustStore, now time.Time) error {
	ek, err := ParseEKCert(cert)
	if err != nil {
		return err
	}
	c := ek.Cert
	pub, err := ParsePublic(ekPub)
	if err != nil {
		return fmt.Errorf("verify ek certificate: ek public area: %w", err)
	}
	key, err := tpm2.Pub(*pub)
	if err != nil {
		return fmt.Errorf("verify ek certificate: ek public key: %w: %v", ErrBadEK, err)
	}
	if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(key) {
		return fmt.Errorf("verify ek certificate %s: %w", describe(c), ErrKeyMismatch)
	}
	if c.BasicConstraintsValid && c.IsCA {
		return fmt.Errorf("verify ek certificate %s: %w: it is a CA certificate", describe(c), ErrNotEKCert)
	}
	if len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range c.UnknownExtKeyUsage {
			ok = ok || u.Equal(oidEKCertificate)
		}
		for _, u := range c.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageAny
		}
		if !ok {
			return fmt.Errorf("verify ek certificate %s: %w: extended key usage lacks tcg-kp-EKCertificate (2.23.133.8.1)", describe(c), ErrNotEKCert)
		}
	}
	if err := checkCritical(c, true); err != nil {
		return fmt.Errorf("verify ek certificate %s: %w", describe(c), err)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("verify ek certificate %s: %w: valid %s to %s, checked at %s", describe(c), ErrExpired,
			c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly), now.UTC().Format(time.RFC3339))
	}
	if _, err := trust.Chain(c, c.NotBefore); err != nil {
		return fmt.Errorf("verify ek certificate %s: %w", describe(c), err)
	}
	return nil
}

// Chain builds a path from c to an anchor of the store, checking each CA as
// VerifyEKCert describes; at is when c was issued (its notBefore), when
// every CA above it must not have expired yet. It returns
// the CAs, c's issuer first and the anchor last. c itself is checked only
// for its signature by its issuer: callers check c's own validity.
func (ts *TrustStore) Chain(c *x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	if ts == nil {
		return nil, fmt.Errorf("%w: no trust store", ErrUntrustedCA)
	}
	var best error
	var walk func(child *x509.Certificate, path []*x509.Certificate) []*x509.Certificate
	walk = func(child *x509.Certificate, path []*x509.Certificate) []*x509.Certificate {
		if len(path) >= maxChain {
			return nil
		}
		issuer, err := canonicalName(child.RawIssuer)
		if err != nil {
			best = fmt.Errorf("%w: issuer name of %s: %v", ErrMalformed, describe(child), err)
			return nil
		}
		cands := ts.byName[issuer]
		if len(cands) == 0 && best == nil {
			best = fmt.Errorf("%w: no CA named %q in the trust store (issuer of %s)", ErrUntrustedCA, child.Issuer, describe(child))
		}
	next:
		for _, sc := range cands {
			for _, p := range path {
				if p == sc.cert {
					continue next // a loop through cross-certificates
				}
			}
			if sc.cert == child {
				continue
			}
			if err := checkSignature(sc.cert, child); err != nil {
				best = fmt.Errorf("%w: signature on %s does not verify with %s (%s): %v", ErrUntrustedCA, describe(child), describe(sc.cert), sc.source, err)
				continue
			}
			if err := checkCA(sc, len(path), at); err != nil {
				best = err
				continue
			}
			chain := append(path[:len(path):len(path)], sc.cert)
			if sc.anchor {
				return chain
			}
			if full := walk(sc.cert, chain); full != nil {
				return full
			}
		}
		return nil
	}
	if chain := walk(c, nil); chain != nil {
		return chain, nil
	}
	if best == nil {
		best = fmt.Errorf("%w: no path from %s to a trusted root", ErrUntrustedCA, describe(c))
	}
	return nil, best
}

// checkSignature checks child's signature with parent's key. It uses
// Certificate.CheckSignature, which accepts SHA-1 signatures (quirk 1) and
// refuses MD5.
func checkSignature(parent, child *x509.Certificate) error {
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// checkCA checks that sc may issue certificates: a CA by basic constraints
// (a certificate without basic constraints is accepted only as an anchor,
// since the operator chose it), certSign in its key usage when it has one,
// a path length constraint that allows below it the intermediates already
// in the path (below counts them), no unknown critical extension, and not
// expired at time at (quirk 6: its notBefore is not checked).
func checkCA(sc *storeCert, below int, at time.Time) error {
	c := sc.cert
	where := fmt.Sprintf("%s (%s)", describe(c), sc.source)
	switch {
	case c.BasicConstraintsValid && !c.IsCA:
		return fmt.Errorf("%w: %s is not a CA (basic constraints CA:false)", ErrUntrustedCA, where)
	case !c.BasicConstraintsValid && !sc.anchor:
		return fmt.Errorf("%w: intermediate %s has no basic constraints", ErrUntrustedCA, where)
	case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("%w: %s key usage lacks certSign", ErrUntrustedCA, where)
	case c.BasicConstraintsValid && c.MaxPathLen >= 0 && below > c.MaxPathLen:
		return fmt.Errorf("%w: %s allows %d CAs below it, the path has %d", ErrUntrustedCA, where, c.MaxPathLen, below)
	}
	if err := checkCritical(c, false); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUntrustedCA, where, err)
	}
	if at.After(c.NotAfter) {
		return fmt.Errorf("%w: CA %s expired %s, before the certificate below it was issued on %s", ErrExpired, where,
			c.NotAfter.UTC().Format(time.DateOnly), at.UTC().Format(time.DateOnly))
	}
	return nil
}

// checkCritical refuses critical extensions crypto/x509 did not handle,
// except a SAN on an EK certificate (quirk 4).
func checkCritical(c *x509.Certificate, ekCert bool) error {
	for _, oid := range c.UnhandledCriticalExtensions {
		if ekCert && oid.Equal(oidSubjectAltName) {
			continue
		}
		return fmt.Errorf("unknown critical extension %s", oid)
	}
	return nil
}

// describe names a certificate in errors: its subject, or for an EK
// certificate with an empty subject, its issuer and serial number.
func describe(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("serial %s from %q", c.SerialNumber, c.Issuer)
}
