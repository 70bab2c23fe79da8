package uefi_test

import (
	"errors"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// corpusEvents returns the events a verifier would judge a case by: the
// verified events of its best bank where the case has PCR values, else
// (marked unverified) all events.
func corpusEvents(t *testing.T, c corpusCase, l *eventlog.Log) (events []eventlog.Event, verified bool) {
	t.Helper()
	bank := l.Banks[0]
	for _, b := range l.Banks {
		if b == eventlog.SHA256 {
			bank = b
		}
	}
	if c.PCRs != nil {
		vals, err := eventlog.ParsePCRValues(c.PCRs)
		if err != nil {
			t.Fatal(err)
		}
		if q, ok := vals[bank]; ok {
			res, err := l.ReplayAgainst(bank, q)
			var re *eventlog.ReplayError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("ReplayAgainst(%v): %v", bank, err)
			}
			quoted := map[int][]byte{}
			for _, r := range res.PCRs {
				if r.Status == eventlog.StatusMatch {
					quoted[r.PCR] = r.Want
				}
			}
			if ev, err := l.Verified(bank, quoted); err == nil {
				return ev, true
			}
		}
	}
	return l.Events, false
}

// TestSecureBootCorpus compares SecureBootState with go-attestation's
// ParseSecurebootState (reference-results.json) and with the state the
// case's source states.
func TestSecureBootCorpus(t *testing.T) {
	refs := references(t)
	for _, c := range corpusCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			l, err := eventlog.Parse(c.Log)
			if err != nil {
				if c.Meta.ExpectParse == "error" {
					return
				}
				t.Fatalf("Parse: %v", err)
			}
			events, verified := corpusEvents(t, c, l)
			sb, err := uefi.SecureBootState(events)
			ref := refs[c.Name].GoAttestation.SecureBoot
			switch {
			case ref != nil && ref.Enabled != nil:
				if err != nil {
					t.Fatalf("SecureBootState: %v; go-attestation says enabled=%v", err, *ref.Enabled)
				}
				if sb.Enabled != *ref.Enabled {
					t.Errorf("Enabled = %v, go-attestation says %v", sb.Enabled, *ref.Enabled)
				}
			case c.Meta.SecureBoot != nil:
				if err != nil {
					t.Fatalf("SecureBootState: %v; the source says enabled=%v", err, *c.Meta.SecureBoot)
				}
				if sb.Enabled != *c.Meta.SecureBoot {
					t.Errorf("Enabled = %v, the source says %v", sb.Enabled, *c.Meta.SecureBoot)
				}
			}
			if err != nil {
				t.Logf("verified=%v: no state: %v (go-attestation: %+v)", verified, err, ref)
				return
			}
			if c.Meta.SecureBoot != nil && sb.Enabled != *c.Meta.SecureBoot {
				t.Errorf("Enabled = %v, the source says %v", sb.Enabled, *c.Meta.SecureBoot)
			}
			// Certificates Go's x509 refuses (negative serials, duplicate
			// extensions) still show who they are.
			for _, db := range []*uefi.SignatureDB{sb.PK, sb.KEK, sb.DB, sb.DBX()} {
				if db == nil {
					continue
				}
				for _, c := range db.Certs {
					c.ReadNames()
					if c.Subject == "" {
						t.Errorf("certificate %x: no subject (x509: %s)", c.SHA256[:8], c.ParseErr)
					} else if c.ParseErr != "" {
						t.Logf("certificate %q read leniently: %s", c.Subject, c.ParseErr)
					}
				}
			}
			t.Logf("verified=%v enabled=%v measured=%v authorities=%d", verified, sb.Enabled, sb.Measured, len(sb.Authorities))
		})
	}
}
