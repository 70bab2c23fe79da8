package appraisal

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// appraisableCorpus are the corpus cases an appraisal proves: crypto-agile
// logs that replay, with SHA-256 PCR values, needing no workaround.
func appraisableCorpus(t *testing.T) []corpusCase {
	t.Helper()
	root := corpusRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", "pcrs.json"))
	var out []corpusCase
	for _, f := range dirs {
		rel, _ := filepath.Rel(root, filepath.Dir(f))
		c := loadCorpusCase(t, root, filepath.ToSlash(rel))
		if c.Meta.Format == nil || *c.Meta.Format != eventlog.FormatCryptoAgile || c.Meta.Expect != "replay-matches" ||
			c.Meta.RequiresWorkaround != "" || c.PCRs[eventlog.SHA256] == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// appraiseCorpusCase appraises a case's log and PCR values quoted by a
// software AK, under corpusPolicy. It returns the verdict and the policy.
func appraiseCorpusCase(t *testing.T, c corpusCase) (*Verdict, *policy.Policy) {
	t.Helper()
	log, err := eventlog.Parse(c.Log)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	p := corpusPolicy(log, c)
	ak := newSoftwareAK(t)
	v, err := Appraise(Input{Evidence: corpusEvidence(t, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow})
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return v, p
}

// corpusPolicy is the default policy without the Secure Boot requirement,
// ignoring the PCRs the case gives but its log never measures: they were
// extended after boot (IMA, userspace), and a group ignores them.
func corpusPolicy(log *eventlog.Log, c corpusCase) *policy.Policy {
	p := policy.Default()
	p.SecureBootRequired = false
	logged := map[int]bool{}
	for _, e := range log.Events {
		logged[e.PCR] = true
	}
	for pcr := range c.PCRs[eventlog.SHA256] {
		if pcr >= 8 && !logged[pcr] {
			p.PCRsIgnore = append(p.PCRsIgnore, pcr)
		}
	}
	slices.Sort(p.PCRsIgnore)
	return p
}
