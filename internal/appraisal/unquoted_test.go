package appraisal

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestUnquotedMatchesQuoted appraises every corpus log that has PCR values
// twice with the same policy: as the verifier does, quoted (by a software
// AK), and as `bootproof appraise` does without a quote. Status and failed
// checks must be the same; only the quote checks move to NotChecked.
func TestUnquotedMatchesQuoted(t *testing.T) {
	root := corpusRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "*", "*", "pcrs.json"))
	if len(files) == 0 {
		t.Fatal("no corpus case has pcrs.json")
	}
	ak := newSoftwareAK(t)
	for _, f := range files {
		rel, _ := filepath.Rel(root, filepath.Dir(f))
		c := loadCorpusCase(t, root, filepath.ToSlash(rel))
		t.Run(c.Name, func(t *testing.T) {
			for _, p := range []*policy.Policy{policy.Default(), func() *policy.Policy { p := policy.Default(); p.SecureBootRequired = false; return p }()} {
				quoted, err := Appraise(Input{Evidence: corpusEvidence(t, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				ev := &wire.Evidence{TPMFamily: wire.FamilyTPM20, EventLog: c.Log}
				unquoted, err := Appraise(Input{Evidence: ev, UnquotedPCRs: c.PCRs, Policy: p, Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				if unquoted.Status != quoted.Status {
					t.Errorf("status %s unquoted, %s quoted", unquoted.Status, quoted.Status)
				}
				if got, want := failuresOf(unquoted), failuresOf(quoted); !slices.Equal(got, want) {
					t.Errorf("failed checks %v unquoted, %v quoted", got, want)
				}
				if len(unquoted.NotChecked) != len(quoteChecks) || len(quoted.NotChecked) != 0 {
					t.Errorf("not checked: %d unquoted, %d quoted", len(unquoted.NotChecked), len(quoted.NotChecked))
				}
				for _, nc := range unquoted.NotChecked {
					if slices.ContainsFunc(unquoted.Checks, func(c Check) bool { return c.Code == nc.Code }) {
						t.Errorf("%s is both checked and not checked", nc.Code)
					}
				}
			}
		})
	}
}

func failuresOf(v *Verdict) []string {
	var out []string
	for _, c := range v.Failures() {
		out = append(out, c.Code+"|"+c.Message)
	}
	return out
}
