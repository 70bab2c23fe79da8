package eventlog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// TestCorpus runs every real log of the shared corpus through Parse and, where
// the case gives PCR values, through ReplayAgainst in every given bank.
func TestCorpus(t *testing.T) {
	for _, c := range corpusCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			l, err := eventlog.Parse(c.Log)
			if c.Meta.ExpectParse == "error" {
				if err == nil {
					t.Fatalf("Parse accepted a log the case says is invalid (%d events)", len(l.Events))
				}
				var pe *eventlog.ParseError
				if !errors.As(err, &pe) {
					t.Errorf("Parse error %v is not a *ParseError", err)
				}
				t.Logf("refused as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Meta.Format != nil && l.Format != *c.Meta.Format {
				t.Errorf("Format = %q, case says %q", l.Format, *c.Meta.Format)
			}
			for i, e := range l.Events {
				if e.Index != i {
					t.Fatalf("Events[%d].Index = %d", i, e.Index)
				}
			}
			if c.PCRs == nil {
				return
			}
			want, err := eventlog.ParsePCRValues(c.PCRs)
			if err != nil {
				t.Fatalf("pcrs.json: %v", err)
			}
			outside := map[int]bool{}
			for _, p := range c.Meta.PCRsOutsideLog {
				outside[p] = true
			}
			anyMismatch := false
			for _, bank := range want.Banks() {
				vals := map[int][]byte{}
				for p, v := range want[bank] {
					if !outside[p] {
						vals[p] = v
					}
				}
				res, err := l.ReplayAgainst(bank, vals)
				var re *eventlog.ReplayError
				switch {
				case err == nil:
					if !res.Match {
						t.Errorf("%v: no error but Match = false", bank)
					}
				case errors.As(err, &re):
					anyMismatch = true
					switch {
					case strings.Contains(c.Meta.RequiresWorkaround, "ExitBootServices"):
						// bootproof does not invent the ExitBootServices
						// events this firmware did not log: a strict replay
						// must fail on PCR 5 and nowhere else.
						if re.PCR != 5 {
							t.Errorf("%v: mismatch on PCR %d, want PCR 5 (missing ExitBootServices events)", bank, re.PCR)
						}
					case c.Meta.Expect == "replay-matches":
						t.Errorf("%v: %v", bank, err)
					}
					t.Logf("%v mismatch: %v", bank, err)
				default:
					t.Errorf("%v: ReplayAgainst: %v", bank, err)
				}
			}
			if c.Meta.Expect == "replay-mismatch" && !anyMismatch {
				t.Errorf("every bank replays, the case expects a mismatch")
			}
		})
	}
}
