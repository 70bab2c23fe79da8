package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
)

// learnFixture is group "lab" with references learned from a good host
// ("ref"), and hosts that attested after: an old kernel (Failed on
// reference.kernel only), Secure Boot off, a TPM 1.2 (N/A) and an
// unsigned bundle.
func learnFixture(t *testing.T) *fixture {
	t.Helper()
	f := startFixture(t)
	run := func(name string, p emuhost.Profile) {
		f.runProfileAt(t, f.env.URL, name, p, filepath.Join(t.TempDir(), name), 0, "")
	}
	run("ref", emuhost.Good)
	f.learn(t, api.LearnRequest{Host: "ref"}, http.StatusOK)
	run("old", emuhost.OldKernel)
	run("sboff", emuhost.SecureBootOff)
	run("tpm12", emuhost.TPM12)
	run("bundle", emuhost.UnsignedBundle)
	return f
}

// learn posts a learn request and decodes a 200 answer, or the error.
func (f *fixture) learn(t *testing.T, req api.LearnRequest, want int) (api.LearnResponse, api.Error) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	st, out, _ := f.do(t, f.client, "POST", "/api/v1/groups/lab/learn", f.env.Token(auth.Operator), body, "application/json")
	if st != want {
		t.Fatalf("learn %+v: %d, want %d: %s", req, st, want, out)
	}
	var res api.LearnResponse
	var e api.Error
	if st == http.StatusOK {
		err = json.Unmarshal(out, &res)
	} else {
		err = json.Unmarshal(out, &e)
	}
	if err != nil {
		t.Fatalf("learn answer %s: %v", out, err)
	}
	return res, e
}

// storedPolicy is the group's policy as stored, and its version.
func (f *fixture) storedPolicy(t *testing.T) (*policy.Policy, string) {
	t.Helper()
	st, b, _ := f.do(t, f.client, "GET", "/api/v1/groups/lab/policy", f.env.AdminToken, nil, "")
	if st != http.StatusOK {
		t.Fatalf("get policy: %d %s", st, b)
	}
	p, err := policy.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func changesOf(c policy.Changes, class, change string) []policy.RefChange {
	var out []policy.RefChange
	for _, r := range c.References {
		if r.Class == class && r.Change == change {
			out = append(out, r)
		}
	}
	return out
}

// TestLearnRefusals: every host that failed for more than reference values
// is refused with learn.not_a_reference (409) naming the blocking check,
// --force needs a reason and cannot make unproven evidence a reference, and
// nothing is stored by a refusal.
func TestLearnRefusals(t *testing.T) {
	f := learnFixture(t)
	_, before := f.storedPolicy(t)
	tests := []struct {
		name     string
		req      api.LearnRequest
		status   int
		code     string
		contains string
	}{
		{"Secure Boot off", api.LearnRequest{Host: "sboff"}, 409, "learn.not_a_reference", "secureboot.disabled"},
		{"Secure Boot off, dry run", api.LearnRequest{Host: "sboff", DryRun: true}, 409, "learn.not_a_reference", "pass --force with --reason"},
		{"N/A host is a 409, not a 502", api.LearnRequest{Host: "tpm12"}, 409, "learn.not_a_reference", "tpm.not_tpm20"},
		{"N/A host even with --force", api.LearnRequest{Host: "tpm12", Force: true, Reason: "lab box"}, 409, "learn.not_a_reference", "even with --force"},
		{"untrusted bundle", api.LearnRequest{Host: "bundle"}, 409, "learn.not_a_reference", "bundle.signature"},
		{"--force without a reason", api.LearnRequest{Host: "sboff", Force: true}, 400, "learn.reason_required", "--reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := f.learn(t, tt.req, tt.status)
			if e.Code != tt.code || !strings.Contains(e.Message, tt.contains) {
				t.Errorf("answer %s: %s, want %s containing %q", e.Code, e.Message, tt.code, tt.contains)
			}
			if _, now := f.storedPolicy(t); now != before {
				t.Errorf("a refused learn changed the policy")
			}
		})
	}
	t.Run("--force with a reason takes the Secure-Boot-off boot and audits the reason", func(t *testing.T) {
		res, _ := f.learn(t, api.LearnRequest{Host: "sboff", Force: true, Reason: "firmware bug ticket 4711"}, http.StatusOK)
		if !res.Applied || len(res.Overridden) == 0 || res.Overridden[0].Code != "secureboot.disabled" {
			t.Errorf("forced learn = applied %v, overridden %+v", res.Applied, res.Overridden)
		}
		var audit api.Page[api.AuditEntry]
		f.mustJSON(t, "GET", "/api/v1/audit?limit=5", auth.Operator, "", http.StatusOK, &audit)
		found := false
		for _, a := range audit.Items {
			found = found || (a.Action == "policy.learn" && strings.Contains(a.Detail, "reason: firmware bug ticket 4711") && strings.Contains(a.Detail, "secureboot.disabled"))
		}
		if !found {
			t.Errorf("no policy.learn audit entry with the reason and the overridden check: %+v", audit.Items)
		}
	})
}

// TestLearnDiff: the dry run shows what each class gains (and with
// --replace loses, with --expire which old values lapse) and stores
// nothing; an apply against a version that is no longer the group's is
// refused with policy.changed; an apply against the version shown stores
// exactly the policy shown.
func TestLearnDiff(t *testing.T) {
	f := learnFixture(t)
	refPolicy, version := f.storedPolicy(t)
	oldRef := refPolicy.References.Kernel[0].String()

	dry, _ := f.learn(t, api.LearnRequest{Host: "old", DryRun: true}, http.StatusOK)
	if dry.Applied || dry.PolicyVersion != version || len(changesOf(dry.Changes, policy.ClassKernel, policy.RefAdded)) != 1 ||
		len(changesOf(dry.Changes, policy.ClassKernel, policy.RefRemoved)) != 0 || !strings.Contains(dry.Diff, "+ kernel: ") {
		t.Errorf("dry run = %+v, want one kernel added against version %s", dry, version)
	}
	if _, now := f.storedPolicy(t); now != version {
		t.Fatalf("the dry run stored a policy")
	}

	repl, _ := f.learn(t, api.LearnRequest{Host: "old", DryRun: true, Replace: []string{"kernel"}}, http.StatusOK)
	if rm := changesOf(repl.Changes, policy.ClassKernel, policy.RefRemoved); len(rm) != 1 || rm[0].Reference != oldRef {
		t.Errorf("--replace kernel removes %+v, want %s", rm, oldRef)
	}

	exp, _ := f.learn(t, api.LearnRequest{Host: "old", DryRun: true, Expire: "7d"}, http.StatusOK)
	ex := changesOf(exp.Changes, policy.ClassKernel, policy.RefExpires)
	if len(ex) != 1 || ex[0].Reference != oldRef {
		t.Fatalf("--expire 7d: expiring %+v, want %s", ex, oldRef)
	}
	if at, err := time.Parse(time.RFC3339, ex[0].Expires); err != nil || time.Until(at) < 6*24*time.Hour || time.Until(at) > 8*24*time.Hour {
		t.Errorf("--expire 7d: expires %q (%v), want about 7 days ahead", ex[0].Expires, err)
	}
	if !strings.Contains(exp.Diff, "~ kernel: "+oldRef+" expires "+ex[0].Expires) {
		t.Errorf("diff does not show the expiry:\n%s", exp.Diff)
	}

	t.Run("apply against a changed policy", func(t *testing.T) {
		changed := refPolicy.Clone()
		changed.Enforcement = policy.EnforceWarn
		b, _ := changed.Marshal()
		if st, body, _ := f.do(t, f.client, "PUT", "/api/v1/groups/lab/policy", f.env.AdminToken, b, "application/yaml"); st != http.StatusNoContent {
			t.Fatalf("put policy: %d %s", st, body)
		}
		_, e := f.learn(t, api.LearnRequest{Host: "old", Expire: "7d", PolicyVersion: exp.PolicyVersion}, http.StatusConflict)
		if e.Code != "policy.changed" {
			t.Errorf("apply after a change: %+v, want policy.changed", e)
		}
		if p, _ := f.storedPolicy(t); len(p.References.Kernel) != 1 {
			t.Errorf("a refused apply stored %d kernels", len(p.References.Kernel))
		}
	})
	t.Run("apply against the version shown", func(t *testing.T) {
		again, _ := f.learn(t, api.LearnRequest{Host: "old", DryRun: true, Expire: "7d"}, http.StatusOK)
		done, _ := f.learn(t, api.LearnRequest{Host: "old", Expire: "7d", PolicyVersion: again.PolicyVersion}, http.StatusOK)
		stored, version := f.storedPolicy(t)
		if !done.Applied || version != done.NewPolicyVersion || done.Policy != again.Policy {
			t.Errorf("apply: applied %v, stored version %s, answered %s; policy as previewed: %v", done.Applied, version, done.NewPolicyVersion, done.Policy == again.Policy)
		}
		if k := stored.References.Kernel; len(k) != 2 || k[0].Expires.IsZero() || !k[1].Expires.IsZero() {
			t.Errorf("kernels stored %+v, want the old one expiring and the learned one not", k)
		}
	})
}
