package corpus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Case is one case of ../shared/testdata/eventlogs (see its README.md).
type Case struct {
	Name string // "<source>/<case>"
	Dir  string
	Log  []byte
	PCRs []byte // pcrs.json, nil when absent
	Meta struct {
		Format             *string `json:"format"`
		SecureBoot         *bool   `json:"secure_boot"`
		Expect             string  `json:"expect"`
		ExpectParse        string  `json:"expect_parse"`
		PCRsOutsideLog     []int   `json:"pcrs_outside_log"`
		RequiresWorkaround string  `json:"requires_workaround"`
	}
}

// SharedDir finds the team's shared/ directory beside the repository root by
// walking up from the package directory.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(filepath.Dir(dir), "shared")
			if _, err := os.Stat(filepath.Join(s, "testdata", "eventlogs")); err == nil {
				return s
			}
			tb.Skip("no ../shared/testdata/eventlogs beside the repository: corpus tests skipped")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("repository root not found: corpus tests skipped")
		}
		dir = parent
	}
}

// Cases loads every case of the shared event log corpus, sorted by name.
func Cases(tb testing.TB) []Case {
	tb.Helper()
	root := filepath.Join(SharedDir(tb), "testdata", "eventlogs")
	metas, err := filepath.Glob(filepath.Join(root, "*", "*", "case.json"))
	if err != nil || len(metas) == 0 {
		tb.Fatalf("no cases under %s: %v", root, err)
	}
	sort.Strings(metas)
	var out []Case
	for _, m := range metas {
		dir := filepath.Dir(m)
		c := Case{Dir: dir, Name: filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)}
		b, err := os.ReadFile(m)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(b, &c.Meta); err != nil {
			tb.Fatalf("%s: %v", m, err)
		}
		if c.Log, err = os.ReadFile(filepath.Join(dir, "eventlog.bin")); err != nil {
			tb.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "pcrs.json")); err == nil {
			c.PCRs = b
		}
		out = append(out, c)
	}
	return out
}

// Reference is the part of reference-results.json the tests compare with.
type Reference struct {
	Case          string `json:"case"`
	GoAttestation struct {
		Parses        bool           `json:"parses"`
		EventsTotal   int            `json:"events_total"`
		EventsPerBank map[string]int `json:"events_per_bank"`
		SecureBoot    *struct {
			Enabled *bool  `json:"enabled"`
			Error   string `json:"error"`
		} `json:"secure_boot"`
	} `json:"go_attestation"`
	Verdict struct {
		Parses     bool   `json:"parses"`
		Replay     string `json:"replay"`
		SecureBoot *bool  `json:"secure_boot"`
	} `json:"verdict"`
}

// References maps each case name to what the reference parsers said of it.
func References(tb testing.TB) map[string]Reference {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(SharedDir(tb), "testdata", "eventlogs", "reference-results.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var rs []Reference
	if err := json.Unmarshal(b, &rs); err != nil {
		tb.Fatalf("reference-results.json: %v", err)
	}
	out := make(map[string]Reference, len(rs))
	for _, r := range rs {
		out[r.Case] = r
	}
	return out
}
