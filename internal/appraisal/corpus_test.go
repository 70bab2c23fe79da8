package appraisal

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// TestAppraiseCorpus appraises every real crypto-agile log of the shared
// corpus that has SHA-256 PCR values, quoted by a software AK: the log must
// replay, and the Secure Boot state must be what the case's source says.
// A policy learned from the verdict must pass the same host.
func TestAppraiseCorpus(t *testing.T) {
	root := corpusRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", "pcrs.json"))
	ak := newSoftwareAK(t)
	n := 0
	for _, f := range dirs {
		rel, _ := filepath.Rel(root, filepath.Dir(f))
		name := filepath.ToSlash(rel)
		c := loadCorpusCase(t, root, name)
		if c.Meta.Format == nil || *c.Meta.Format != eventlog.FormatCryptoAgile || c.Meta.Expect != "replay-matches" ||
			c.Meta.RequiresWorkaround != "" || c.PCRs[eventlog.SHA256] == nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			log, err := eventlog.Parse(c.Log)
			if err != nil {
				t.Fatal(err)
			}
			p := corpusPolicy(log, c)
			// What the source does not give cannot be quoted: those
			// failures, and only those, are expected.
			expected := func(f Check) bool {
				switch f.Code {
				case CodeQuoteMissingBank:
					bank, err := eventlog.ParseAlg(f.Bank)
					return err == nil && c.PCRs[bank] == nil
				case CodeQuotePCRSelection:
					bank, _ := eventlog.ParseAlg(f.Bank)
					_, given := c.PCRs[bank][*f.PCR]
					return f.PCR != nil && !given
				case CodeEventLogDataMismatch:
					// A log that really carries one (datadigest_test.go).
					return f.EventIndex != nil && slices.Contains(knownDataMismatches[name], *f.EventIndex)
				case CodeSecureBootDisabled:
					// PCR 7 not given: nothing shows Secure Boot state.
					_, given := c.PCRs[eventlog.SHA256][7]
					return !given
				}
				return false
			}
			in := Input{Evidence: corpusEvidence(t, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow}
			v, err := Appraise(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range v.Failures() {
				if !expected(f) {
					t.Errorf("failure %s: %s", f.Code, f.Message)
				}
			}
			if want := c.Meta.SecureBoot; want != nil && v.SecureBoot != nil && v.SecureBoot.Enabled != *want {
				t.Errorf("Secure Boot enabled = %v, the source says %v", v.SecureBoot.Enabled, *want)
			}
			if v.Bank == "" {
				return
			}
			hasFirmware := slices.ContainsFunc(log.Events, func(e eventlog.Event) bool {
				return e.PCR == 0 && e.Type != eventlog.EvSeparator && e.Type != eventlog.EvNoAction
			})
			if hasFirmware && !slices.ContainsFunc(v.Components, func(c policy.Component) bool { return c.Class == policy.ClassFirmware }) {
				t.Errorf("no firmware component found")
			}
			in.Policy = policy.Learn(v.Components, p)
			again, err := Appraise(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range again.Failures() {
				if !expected(f) {
					t.Errorf("policy learned from this host: failure %s: %s", f.Code, f.Message)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus case qualified")
	}
}
