package appraisal

import (
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/memo"
	"github.com/bootproof/bootproof/internal/uefi"
)

// authorities are the proven PCR 7 authority events, nil when the Secure
// Boot state could not be read.
func (a *appraisal) authorities() []uefi.Authority {
	if a.sb == nil {
		return nil
	}
	return a.sb.Authorities
}

// checkSecureBoot reads the Secure Boot state from the proven PCR 7 events
// and holds it against the policy.
func (a *appraisal) checkSecureBoot(verified []eventlog.Event) {
	p := a.in.Policy
	bank, _ := eventlog.ParseAlg(a.v.Bank)
	sb, err := ProvenSecureBoot(verified, bank, a.replayed)
	if err != nil {
		a.fail(Check{Code: CodeSecureBootVariables, Bank: a.v.Bank, PCR: intp(7),
			Message: fmt.Sprintf("The Secure Boot events in PCR 7 are not what honest firmware logs: %v.", err)})
		return
	}
	a.sb = sb
	a.v.SecureBoot = summarise(sb)
	switch state := SecureBootStateOf(sb); {
	case sb.DebugMode:
		a.fail(Check{Code: CodeSecureBootDisabled, Bank: a.v.Bank, PCR: intp(7),
			Message: "The firmware ran in UEFI debug mode, so Secure Boot enforced nothing."})
	case state == SecureBootUnknown && p.SecureBootRequired:
		a.fail(Check{Code: CodeSecureBootDisabled, Bank: a.v.Bank, PCR: intp(7), Expected: []string{"enabled"}, Found: "not measured",
			Message: "The boot did not measure the SecureBoot variable, so nothing shows Secure Boot was on."})
	case state == SecureBootOff && p.SecureBootRequired:
		a.fail(Check{Code: CodeSecureBootDisabled, Bank: a.v.Bank, PCR: intp(7), Expected: []string{"enabled"}, Found: "disabled",
			Message: "Secure Boot was disabled at boot."})
	case state == SecureBootOn:
		a.pass(CodeSecureBootDisabled, "Secure Boot was enabled at boot.")
	default:
		a.pass(CodeSecureBootDisabled, "Secure Boot was disabled at boot; the policy does not require it.")
	}

	want := p.SecureBootVariables
	ok := true
	for _, v := range []struct {
		name    string
		allowed []string
		got     []string
	}{{"PK", want.PK, a.v.SecureBoot.PK}, {"KEK", want.KEK, a.v.SecureBoot.KEK}, {"db", want.DB, a.v.SecureBoot.DB}} {
		if len(v.allowed) == 0 {
			continue
		}
		for _, fp := range v.got {
			if !slices.Contains(v.allowed, fp) {
				ok = false
				a.fail(Check{Code: CodeSecureBootVariables, Bank: a.v.Bank, PCR: intp(7), Component: v.name,
					Message:  fmt.Sprintf("The %s variable holds a certificate the policy does not allow.", v.name),
					Expected: v.allowed, Found: fp})
			}
		}
	}
	if len(want.DBXContains) > 0 {
		have := map[string]bool{}
		if dbx := sb.DBX(); dbx != nil {
			for _, h := range dbx.Hashes {
				have[hex.EncodeToString(h.Value)] = true
			}
		}
		for _, h := range want.DBXContains {
			if !have[h] {
				ok = false
				a.fail(Check{Code: CodeSecureBootVariables, Bank: a.v.Bank, PCR: intp(7), Component: "dbx",
					Message:  "The dbx variable lacks a revocation the policy requires.",
					Expected: []string{h}})
			}
		}
	}
	if ok {
		a.pass(CodeSecureBootVariables, "The Secure Boot variables are as the policy wants.")
	}
}

// summarise is the Secure Boot state as reports show it: certificates by
// fingerprint (API clients compare those) and by subject (people read
// those), and shim's state.
func summarise(sb *uefi.SecureBoot) *SecureBoot {
	s := &SecureBoot{Enabled: sb.Enabled, PK: fingerprints(sb.PK), KEK: fingerprints(sb.KEK), DB: fingerprints(sb.DB)}
	s.PKCerts, s.KEKCerts, s.DBCerts = certNames(sb.PK), certNames(sb.KEK), certNames(sb.DB)
	s.AuthorityCerts = authorityCerts(sb.Authorities)
	s.DBX = sb.DBXEntries
	for _, au := range sb.Authorities {
		if au.Cert != nil {
			s.Authorities = append(s.Authorities, hex.EncodeToString(au.Cert.SHA256[:]))
		} else {
			s.Authorities = append(s.Authorities, au.Variable)
		}
	}
	return s
}

func fingerprints(db *uefi.SignatureDB) []string {
	if db == nil {
		return nil
	}
	out := make([]string, 0, len(db.Certs))
	for _, c := range db.Certs {
		out = append(out, hex.EncodeToString(c.SHA256[:]))
	}
	return out
}

// certNames names the certificates of a signature database by subject and
// fingerprint, nil when the variable was not measured.
func certNames(db *uefi.SignatureDB) []CertName {
	if db == nil || len(db.Certs) == 0 {
		return nil
	}
	out := make([]CertName, len(db.Certs))
	for i := range db.Certs {
		out[i] = certName(&db.Certs[i])
	}
	return out
}

// certSubjects remembers the subject shown for each certificate, by
// fingerprint: reading names parses the certificate (uefi.Cert.ReadNames;
// it was nearly a fifth of an appraisal's CPU time), and a fleet's PK, KEK and
// db are the same few certificates. A subject is a function of the DER the
// fingerprint names, so the memo never changes a verdict; it is bounded
// because hosts send the certificates.
var certSubjects = memo.New[[32]byte, string](4096)

// certName names a certificate by subject and fingerprint.
func certName(c *uefi.Cert) CertName {
	fp := hex.EncodeToString(c.SHA256[:])
	if s, ok := certSubjects.Get(c.SHA256); ok {
		return CertName{Subject: s, SHA256: fp}
	}
	s, _ := authorityNames(c)
	certSubjects.Put(c.SHA256, s)
	return CertName{Subject: s, SHA256: fp}
}
