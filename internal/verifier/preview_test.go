package verifier_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// previewFleet enrols hosts of the given profiles in group lab (policy
// loadgen.LoadPolicy, version 1) and attests each once.
func previewFleet(t testing.TB, profiles map[emuhost.Profile]int) *benchFleet {
	t.Helper()
	f := newBenchFleet(t, 0)
	var ps []emuhost.Profile
	for p := range profiles {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	ims, err := loadgen.BootImages(ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		for i := range profiles[p] {
			bh := enrolBenchHost(t, f.v, f.maker, fmt.Sprintf("%s-%02d", p, i), ims[p])
			f.hosts = append(f.hosts, bh)
			submit(t, f, bh, bh.im.Expect)
		}
	}
	return f
}

// submit attests bh once and checks its status.
func submit(t testing.TB, f *benchFleet, bh *benchHost, want string) {
	t.Helper()
	h, ev := f.freshEvidence(t, bh)
	res, err := f.v.Submit(context.Background(), h, ev)
	if err != nil {
		t.Fatalf("Submit(%s): %v", h.Name, err)
	}
	if res.Status != want {
		t.Fatalf("Submit(%s) = %s (%s), want %s", h.Name, res.Status, res.Reason, want)
	}
}

// learnedFrom is the policy `policy learn` makes of host's latest verdict:
// its boot as the only reference values, so other kernels fail.
func learnedFrom(t testing.TB, f *benchFleet, host string) *policy.Policy {
	t.Helper()
	ctx := context.Background()
	vd, _, err := f.v.LatestVerdict(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := f.v.Policy(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	p, err := verifier.Learn(vd, cur, host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// storedState is what a preview must leave as it was.
type storedState struct {
	counts   map[string]int
	latest   map[string]string // host → verdict JSON and policy version
	version  int
	versions int
}

func readState(t *testing.T, f *benchFleet) storedState {
	t.Helper()
	ctx := context.Background()
	st := f.v.Store()
	counts, err := st.CountByStatus(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s := storedState{counts: counts, latest: map[string]string{}}
	for _, bh := range f.hosts {
		le, err := st.LatestEvidence(ctx, bh.rec.Name)
		if err != nil {
			t.Fatal(err)
		}
		s.latest[bh.rec.Name] = fmt.Sprintf("%s v%d", le.Verdict, le.PolicyVersion)
	}
	g, err := st.GetGroup(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.PolicyVersions(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	s.version, s.versions = g.PolicyVersion, len(vs)
	return s
}

// TestPreviewPolicy: a policy learned from a good host would fail exactly
// the old-kernel hosts; the secure-boot-off ones were failing already; each
// distinct boot is appraised once; a long list says how many it left out;
// nothing is stored.
func TestPreviewPolicy(t *testing.T) {
	f := previewFleet(t, map[emuhost.Profile]int{emuhost.Good: 4, emuhost.OldKernel: 3, emuhost.SecureBootOff: 2})
	proposed := learnedFrom(t, f, "good-00")
	before := readState(t, f)

	tests := []struct {
		name   string
		listed int
		want   []string
		more   int
	}{
		{"all listed", 0, []string{"old-kernel-00", "old-kernel-01", "old-kernel-02"}, 0},
		{"capped", 2, []string{"old-kernel-00", "old-kernel-01"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv, err := f.v.PreviewPolicy(context.Background(), "lab", proposed, tt.listed)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("hosts %d pass %d fail %d na %d unchanged %d changed %d unreadable %d more %d appraisals %d",
				pv.Hosts, pv.WouldPass, pv.WouldFail, pv.WouldNA, pv.Unchanged, pv.Changed, pv.Unreadable, pv.More, pv.Appraisals)
			want := fmt.Sprintf("hosts 9 pass 4 fail 5 na 0 unchanged 6 changed 3 unreadable 0 more %d appraisals 3", tt.more)
			if got != want {
				t.Errorf("preview = %s\nwant      %s", got, want)
			}
			var names []string
			for _, c := range pv.Changes {
				names = append(names, c.Host)
				if c.From != store.StatusPassed || c.To != store.StatusFailed || !strings.HasPrefix(c.ReasonCode, "reference.") || c.Headline == "" {
					t.Errorf("change %+v, want Passed → Failed with a reference.* headline", c)
				}
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("changed hosts = %v, want %v", names, tt.want)
			}
			if !strings.Contains(pv.Note, "freshness") {
				t.Errorf("note %q does not say freshness was not checked", pv.Note)
			}
		})
	}
	if after := readState(t, f); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("preview changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

// TestPreviewQuotesPerHost: a host whose stored quote does not verify is
// judged on its own, though it shares every blob with hosts that pass.
func TestPreviewQuotesPerHost(t *testing.T) {
	f := previewFleet(t, map[emuhost.Profile]int{emuhost.Good: 2})
	bad := enrolBenchHost(t, f.v, f.maker, "forged", f.hosts[0].im)
	h, ev := f.freshEvidence(t, bad)
	for i := range ev.Quotes {
		ev.Quotes[i].Signature[len(ev.Quotes[i].Signature)-1] ^= 1
	}
	if _, err := f.v.Submit(context.Background(), h, ev); err != nil {
		t.Fatal(err)
	}
	p, err := f.v.Policy(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	pv, err := f.v.PreviewPolicy(context.Background(), "lab", p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pv.WouldPass != 2 || pv.WouldFail != 1 || pv.Changed != 0 {
		t.Errorf("preview under the same policy = pass %d fail %d changed %d (%+v), want 2, 1, 0", pv.WouldPass, pv.WouldFail, pv.Changed, pv.Changes)
	}
}

// TestRollbackJudgesUnderNewVersion: a rollback appends the old YAML as a
// new version, and the next attestation is judged, and recorded, under it.
func TestRollbackJudgesUnderNewVersion(t *testing.T) {
	f := previewFleet(t, map[emuhost.Profile]int{emuhost.Good: 1, emuhost.OldKernel: 1})
	ctx := context.Background()
	old := f.hosts[1]
	v2, err := f.v.PutPolicyVersion(ctx, "alice", "lab", learnedFrom(t, f, "good-00"), "kernel references")
	if err != nil {
		t.Fatal(err)
	}
	submit(t, f, old, store.StatusFailed)
	wantJudged(t, f, old.rec.Name, v2.Version)

	v3, err := f.v.RollbackPolicy(ctx, "bob", "lab", 1)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := f.v.PolicyVersion(ctx, "lab", 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.v.PolicyVersion(ctx, "lab", v3.Version)
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 || got.Author != "bob" || got.Comment != "rollback to version 1" || string(got.Policy) != string(v1.Policy) {
		t.Errorf("rollback stored version %d by %q (%q), YAML equal to version 1: %v; want 3 by bob, the YAML of 1",
			got.Version, got.Author, got.Comment, string(got.Policy) == string(v1.Policy))
	}
	submit(t, f, old, store.StatusPassed)
	wantJudged(t, f, old.rec.Name, 3)

	hist, err := f.v.PolicyHistory(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, pv := range hist {
		lines = append(lines, fmt.Sprintf("%d %s %s", pv.Version, pv.Author, pv.Comment))
	}
	want := []string{"3 bob rollback to version 1", "2 alice kernel references", "1 bench "}
	if !slices.Equal(lines, want) {
		t.Errorf("history = %q, want %q", lines, want)
	}
	if _, err := f.v.RollbackPolicy(ctx, "bob", "lab", 9); !isRefusal(err, "policy.version_not_found") {
		t.Errorf("rollback to an absent version: %v, want policy.version_not_found", err)
	}
}

func wantJudged(t *testing.T, f *benchFleet, host string, version int) {
	t.Helper()
	le, err := f.v.Store().LatestEvidence(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	if le.PolicyVersion != version {
		t.Errorf("%s's latest verdict was judged under policy version %d, want %d", host, le.PolicyVersion, version)
	}
}

func isRefusal(err error, code string) bool {
	e, ok := verifier.AsError(err)
	return ok && e.Code == code
}

// TestLearnIsAVersion: learning reference values stores a version that says
// which host taught them, and who asked.
func TestLearnIsAVersion(t *testing.T) {
	f := previewFleet(t, map[emuhost.Profile]int{emuhost.Good: 1})
	ctx := context.Background()
	if _, err := f.v.LearnReference(ctx, "carol", verifier.LearnRequest{Host: "good-00"}); err != nil {
		t.Fatal(err)
	}
	hist, err := f.v.PolicyHistory(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	if got := hist[0]; got.Version != 2 || got.Author != "carol" || got.Comment != "reference values learned from host good-00" {
		t.Errorf("newest version = %+v, want 2 by carol, learned from good-00", got)
	}
}

// TestPreviewOneAtATime: a preview while another runs is refused with a
// stable code, and runs once the other ended.
func TestPreviewOneAtATime(t *testing.T) {
	f := previewFleet(t, map[emuhost.Profile]int{emuhost.Good: 1})
	ctx := context.Background()
	p, err := f.v.Policy(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	release := f.v.HoldPreview()
	if _, err := f.v.PreviewPolicy(ctx, "lab", p, 0); !isRefusal(err, "policy.preview_running") {
		t.Errorf("preview while another runs: %v, want policy.preview_running", err)
	}
	release()
	if pv, err := f.v.PreviewPolicy(ctx, "lab", p, 0); err != nil || pv.Hosts != 1 {
		t.Errorf("preview after the other ended = %+v, %v; want 1 host", pv, err)
	}
}
