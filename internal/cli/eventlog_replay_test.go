package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
)

var updateReplayGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// elReplayJSON runs `eventlog replay --json` and decodes its answer.
func elReplayJSON(t *testing.T, args ...string) (int, replayOutput) {
	t.Helper()
	code, out, errOut := elRun(t, append([]string{"eventlog", "replay", "--json"}, args...)...)
	var got replayOutput
	if err := strictJSON([]byte(out), &got); err != nil {
		t.Fatalf("exit %d, output is not replay JSON: %v\n%s%s", code, err, out, errOut)
	}
	return code, got
}

func problemCodes(ps []replayProblem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code+" "+p.Bank)
	}
	return out
}

// TestEventlogReplayRules: crafted logs and values on which the replay was
// more lenient than the verifier, and the Secure Boot state it must give.
func TestEventlogReplayRules(t *testing.T) {
	onLog, onPCRs, onVals := elWriteLog(t, []byte{1}, nil)
	offLog, offPCRs, _ := elWriteLog(t, []byte{0}, nil)
	// The on log's PCR 7 event edited to say off, its digests kept: PCR 7
	// still replays, but the data is not what was measured.
	keptLog, _, _ := elWriteLog(t, []byte{1}, func(banks []eventlog.Alg) ([]eventlog.Digest, []byte) {
		return eventlog.Digests(banks, elVar([]byte{1})), elVar([]byte{0})
	})
	// The same edit with digests to match: PCR 7 no longer replays.
	redoneLog, _, _ := elWriteLog(t, []byte{1}, func(banks []eventlog.Alg) ([]eventlog.Digest, []byte) {
		return eventlog.Digests(banks, elVar([]byte{0})), elVar([]byte{0})
	})
	sha1Only := elWritePCRs(t, eventlog.PCRValues{eventlog.SHA1: {0: make([]byte, 20), 7: make([]byte, 20)}})
	with := func(bank eventlog.Alg, pcr int, v []byte) string {
		vals := eventlog.PCRValues{}
		for b, m := range onVals {
			vals[b] = map[int][]byte{}
			for p, x := range m {
				vals[b][p] = x
			}
		}
		vals[bank][pcr] = v
		return elWritePCRs(t, vals)
	}
	imaPCRs := with(eventlog.SHA256, 10, bytes.Repeat([]byte{0xee}, 32))
	badPCR7 := elWritePCRs(t, func() eventlog.PCRValues {
		v := eventlog.PCRValues{}
		for b, m := range onVals {
			v[b] = map[int][]byte{}
			for p, x := range m {
				v[b][p] = x
			}
			v[b][7] = bytes.Repeat([]byte{0x77}, b.Size())
		}
		return v
	}())
	noPCR7 := elWritePCRs(t, func() eventlog.PCRValues {
		v := eventlog.PCRValues{}
		for b, m := range onVals {
			v[b] = map[int][]byte{}
			for p, x := range m {
				if p != 7 {
					v[b][p] = x
				}
			}
		}
		return v
	}())

	tests := []struct {
		name     string
		args     []string
		code     int
		problems []string // code and bank of each problem, in order
		state    string
		event    int      // the deciding event of an on or off state
		reason   string   // in the reason of an unknown state
		provenIn []string // the banks whose PCR 7 proves an on or off state
	}{
		{"honest on log", []string{onLog, "--pcrs", onPCRs}, 0, nil, "on", 2, "", []string{"sha256", "sha512"}},
		{"honest off log", []string{offLog, "--pcrs", offPCRs}, 0, nil, "off", 2, "", []string{"sha256", "sha512"}},
		{"SHA-1 values for a SHA-256 log are refused", []string{onLog, "--pcrs", sha1Only}, 1,
			[]string{"quote.missing_bank sha256", "quote.missing_bank sha512", "quote.missing_bank "}, "unknown", 0, "no bank of SHA-256 or better", nil},
		// As the verifier: the state rests on the strongest bank, which replayed.
		{"a PCR with a value and no events is a mismatch", []string{onLog, "--pcrs", imaPCRs}, 1,
			[]string{"eventlog.replay sha256"}, "on", 2, "", []string{"sha512"}},
		{"the same PCR ignored as a policy would", []string{onLog, "--pcrs", imaPCRs, "--ignore-pcrs", "10"}, 0, nil, "on", 2, "", []string{"sha256", "sha512"}},
		{"PCR 7 that does not replay is never on", []string{onLog, "--pcrs", badPCR7}, 1,
			[]string{"eventlog.replay sha256", "eventlog.replay sha512"}, "unknown", 0, "do not prove the log", nil},
		{"PCR 7 not given is never on", []string{onLog, "--pcrs", noPCR7}, 1,
			[]string{"quote.pcr_selection sha256", "quote.pcr_selection sha512"}, "unknown", 0, "no sha512 value for PCR 7", nil},
		{"PCR 7 edited to off, digests kept: unknown, not off", []string{keptLog, "--pcrs", onPCRs}, 0, nil, "unknown", 0, "not the hash of the event data", nil},
		{"PCR 7 edited to off, digests redone: unknown, not off", []string{redoneLog, "--pcrs", onPCRs}, 1,
			[]string{"eventlog.replay sha256", "eventlog.replay sha512"}, "unknown", 0, "do not prove the log", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := elReplayJSON(t, tt.args...)
			if code != tt.code || got.Match != (tt.code == 0) {
				t.Errorf("exit %d match %v, want %d; problems %+v", code, got.Match, tt.code, got.Problems)
			}
			if p := problemCodes(got.Problems); !slices.Equal(p, tt.problems) {
				t.Errorf("problems %q, want %q", p, tt.problems)
			}
			sb := got.SecureBoot
			if sb.State != tt.state {
				t.Fatalf("Secure Boot %q (%s), want %q", sb.State, sb.Reason, tt.state)
			}
			if tt.state == "unknown" {
				if sb.ProvenBy != nil || !strings.Contains(sb.Reason, tt.reason) {
					t.Errorf("unknown with proof %+v, reason %q; want no proof and %q", sb.ProvenBy, sb.Reason, tt.reason)
				}
				return
			}
			if p := sb.ProvenBy; p == nil || p.Event != tt.event || p.Variable != "SecureBoot" || p.EventsFrom != "sha512" || !slices.Equal(p.Banks, tt.provenIn) {
				t.Errorf("proven_by %+v, want the SecureBoot variable at event %d read from sha512, proven in %v", sb.ProvenBy, tt.event, tt.provenIn)
			}
		})
	}
}

// TestEventlogReplayCorpusState replays every crypto-agile corpus log with
// PCR values: each bank given replays, the only problems are what the
// values do not give (as the verifier's corpus test expects), and the
// Secure Boot state is the one the source states, never on or off when PCR
// 7 was not given. SHA-1 logs prove nothing: unknown, exit 1.
func TestEventlogReplayCorpusState(t *testing.T) {
	n := 0
	for _, c := range corpus.Cases(t) {
		if c.PCRs == nil || c.Meta.Expect != "replay-matches" || c.Meta.RequiresWorkaround != "" {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			l, err := eventlog.Parse(c.Log)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := eventlog.ParsePCRValues(c.PCRs)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{filepath.Join(c.Dir, "eventlog.bin"), "--pcrs", filepath.Join(c.Dir, "pcrs.json")}
			if ign := elOutsideLog(l, vals); len(ign) > 0 {
				args = append(args, "--ignore-pcrs", ign)
			}
			code, got := elReplayJSON(t, args...)
			for _, b := range got.Banks {
				if b.Skipped == "" && !b.Match {
					t.Errorf("bank %s does not replay: %+v", b.Bank, got.Problems)
				}
			}
			for _, p := range got.Problems {
				if p.Code != appraisal.CodeQuoteMissingBank && p.Code != appraisal.CodeQuotePCRSelection {
					t.Errorf("problem %+v", p)
				}
			}
			if want := map[bool]int{true: 0, false: 1}[len(got.Problems) == 0]; code != want {
				t.Errorf("exit %d with problems %+v", code, got.Problems)
			}
			decision, ok := appraisal.DecisionBank(l.Banks, func(b eventlog.Alg) bool { return len(vals[b]) > 0 })
			_, pcr7 := vals[decision][7]
			state := got.SecureBoot.State
			switch {
			case !ok || !pcr7:
				if state != "unknown" {
					t.Errorf("Secure Boot %q with no PCR 7 of SHA-256 or better given", state)
				}
			case c.Meta.SecureBoot != nil:
				if want := map[bool]string{true: "on", false: "off"}[*c.Meta.SecureBoot]; state != want {
					t.Errorf("Secure Boot %q, the source says %q", state, want)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus case with PCR values qualified")
	}
}

// elOutsideLog lists the PCRs of 8-23 given without events in the log, for
// --ignore-pcrs: extended after boot, as a group's pcrs_ignore would say.
func elOutsideLog(l *eventlog.Log, vals eventlog.PCRValues) string {
	logged := map[int]bool{}
	for _, e := range l.Events {
		logged[e.PCR] = true
	}
	var out []string
	for pcr := 8; pcr < eventlog.NumPCRs; pcr++ {
		for _, m := range vals {
			if _, ok := m[pcr]; ok && !logged[pcr] {
				out = append(out, strconv.Itoa(pcr))
				break
			}
		}
	}
	return strings.Join(out, ",")
}

// TestEventlogReplayGolden pins the JSON of two corpus logs, Secure Boot on
// and off (go test -update rewrites it).
func TestEventlogReplayGolden(t *testing.T) {
	for _, tt := range []struct{ caseName, golden string }{
		{"tpm2-tools/event-moklisttrusted", "replay-moklisttrusted.json"},
		{"go-tpm-tools/ubuntu-2104-no-secure-boot", "replay-ubuntu-2104-no-secure-boot.json"},
	} {
		t.Run(tt.caseName, func(t *testing.T) {
			dir := elCorpusCase(t, tt.caseName)
			_, out, errOut := elRun(t, "eventlog", "replay", filepath.Join(dir, "eventlog.bin"), "--pcrs", filepath.Join(dir, "pcrs.json"), "--json")
			path := filepath.Join("testdata", tt.golden)
			if *updateReplayGolden {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s%s", path, out, errOut)
			}
		})
	}
}

// TestEventlogReplayEmulated replays what `bootproof evidence` writes for
// emulated hosts (the real reference TPM's PCRs): it passes every rule, and
// the state is the one the host booted with, proven in the log's banks.
func TestEventlogReplayEmulated(t *testing.T) {
	for _, tt := range []struct{ profile, state string }{
		{"good", "on"},
		{"secureboot-off", "off"},
	} {
		t.Run(tt.profile, func(t *testing.T) {
			dir := t.TempDir()
			mustRun(t, "evidence", "--profile", tt.profile, "--out", dir)
			code, got := elReplayJSON(t, filepath.Join(dir, "eventlog.bin"), "--pcrs", filepath.Join(dir, "pcrs.json"))
			if code != 0 || len(got.Problems) > 0 {
				t.Errorf("exit %d, problems %+v", code, got.Problems)
			}
			if sb := got.SecureBoot; sb.State != tt.state || sb.ProvenBy == nil || sb.ProvenBy.Variable != "SecureBoot" || len(sb.ProvenBy.Banks) == 0 {
				t.Errorf("Secure Boot %+v, want %s proven by the SecureBoot variable", sb, tt.state)
			}
		})
	}
}
