package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/emuhost"
)

// appraiseExit is the exit status `bootproof appraise` gives each status:
// 2 for N/A (no TPM 2.0), which it cannot appraise.
var appraiseExit = map[appraisal.Status]int{appraisal.Passed: 0, appraisal.Failed: 1, appraisal.NA: 2}

// TestAppraiseMatchesVerifier reproduces every emulated profile's verdict
// offline, as docs/real-hosts.md tells an operator to: `hosts evidence`,
// `policy get`, `appraise --json`. What appraise prints must be what the
// verifier recorded: status, headline reason and every check's outcome,
// with the exit status the status calls for. The quote files are there, so
// the quote checks are made offline too, and must pass.
func TestAppraiseMatchesVerifier(t *testing.T) {
	f := newFleet(t)
	ref := f.host("ref", "good", f.joinToken("ref", "10m"), "--once")
	waitDone(t, ref, "ref")
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/groups/lab/learn", map[string]string{"host": "ref"}, nil); err != nil {
		t.Fatalf("learn references: %v", err)
	}
	procs := map[emuhost.Profile]*proc{}
	for _, p := range emuhost.Profiles() {
		procs[p] = f.host("ap-"+string(p), string(p), f.joinToken("ap-"+string(p), "10m"), "--once")
	}
	env := []string{"BOOTPROOF_URL=" + f.url, "BOOTPROOF_TOKEN=" + adminToken(t, f), "BOOTPROOF_CA=" + f.caFile()}
	dir := t.TempDir()
	pol := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(pol, []byte(cliOK(t, env, "policy", "get", "lab")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range emuhost.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			name := "ap-" + string(p)
			waitDone(t, procs[p], name)
			recorded := f.detail(t, name)
			if w := wantStatus[string(p)]; recorded.Status != w.status || recorded.ReasonCode != w.code {
				t.Fatalf("the verifier recorded %s %q, want %s %q: the profile no longer shows what this test compares",
					recorded.Status, recorded.ReasonCode, w.status, w.code)
			}
			ev := filepath.Join(dir, name)
			cliOK(t, env, "hosts", "evidence", name, "--out", ev)
			out, errOut, code := runCLI(t, nil, "appraise", ev, "--policy", pol, "--json")
			var got api.AppraisedVerdict
			if err := strictJSON([]byte(out), &got); err != nil || got.Verdict == nil {
				t.Fatalf("appraise --json (exit %d): %v\n%s%s", code, err, out, errOut)
			}
			sameVerdict(t, got, recorded)
			if want := appraiseExit[got.Verdict.Status]; code != want {
				t.Errorf("appraise exit %d for %s, want %d\n%s", code, got.Verdict.Status, want, errOut)
			}
			if got.Verdict.Status != appraisal.NA {
				quotesChecked(t, got.Verdict)
			}
		})
	}
}

// sameVerdict compares what an operator compares: the status, the
// headline, and each check's code and outcome in order.
func sameVerdict(t *testing.T, got api.AppraisedVerdict, recorded api.HostDetail) {
	t.Helper()
	if got.Host != recorded.Name {
		t.Errorf("appraise names the host %q, want %q", got.Host, recorded.Name)
	}
	if string(got.Verdict.Status) != recorded.Status || recorded.Verdict.Status != got.Verdict.Status {
		t.Errorf("appraise says %s; the verifier recorded %s (its verdict %s)", got.Verdict.Status, recorded.Status, recorded.Verdict.Status)
	}
	if got.ReasonCode != recorded.ReasonCode || got.Reason != recorded.Reason {
		t.Errorf("appraise's headline is %s %q; the verifier's %s %q", got.ReasonCode, got.Reason, recorded.ReasonCode, recorded.Reason)
	}
	if g, r := outcomes(got.Verdict.Checks), outcomes(recorded.Verdict.Checks); !slices.Equal(g, r) {
		t.Errorf("appraise's checks differ from the verifier's:\n appraise: %s\n verifier: %s", strings.Join(g, " "), strings.Join(r, " "))
	}
	if len(got.Verdict.NotChecked) > 0 {
		t.Errorf("with the quote files there, appraise left checks unmade: %+v", got.Verdict.NotChecked)
	}
}

// outcomes is each check as "code:ok" or "code:FAIL", in order.
func outcomes(checks []appraisal.Check) []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.Code + ":FAIL"
		if c.Passed {
			out[i] = c.Code + ":ok"
		}
	}
	return out
}

// quotesChecked: appraise checked the quote files it was given (all but
// the clock against an earlier quote, which offline has none) and they
// held.
func quotesChecked(t *testing.T, v *appraisal.Verdict) {
	t.Helper()
	for _, code := range []string{appraisal.CodeQuoteSignature, appraisal.CodeQuoteNonce, appraisal.CodeQuotePCRDigest, appraisal.CodeQuoteReset} {
		i := slices.IndexFunc(v.Checks, func(c appraisal.Check) bool { return c.Code == code })
		if i < 0 || !v.Checks[i].Passed {
			t.Errorf("offline, the quote check %s was not made or failed: %v", code, outcomes(v.Checks))
		}
	}
}

// detail is the host as GET /api/v1/hosts/{name} shows it, with the
// verdict the verifier recorded.
func (f *fleet) detail(t *testing.T, name string) api.HostDetail {
	t.Helper()
	var h api.HostDetail
	if err := f.admin.Do(context.Background(), "GET", "/api/v1/hosts/"+name, nil, &h); err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	if h.Verdict == nil {
		t.Fatalf("the verifier recorded no verdict for %s", name)
	}
	return h
}

// cliOK runs a client command that must succeed and returns its output.
func cliOK(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("bootproof %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// waitDone waits for a --once host to finish its attestation.
func waitDone(t *testing.T, p *proc, name string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("host %s did not finish its attestation", name)
	}
}
