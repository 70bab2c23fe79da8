package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/web/webtest"
)

// TestLearnSafely drives `bootproof policy learn` and the report's button
// as an operator rolling a kernel: a Secure-Boot-off host is refused
// (non-zero exit, the blocking check named; the page has no confirm
// button) and changes nothing; an old-kernel host shows the kernel it
// would add, applies nothing without a terminal or --yes, and with --yes
// --expire 7d applies exactly that, after which the host Passes and the
// golden host's kernel expires in seven days.
func TestLearnSafely(t *testing.T) {
	f := newFleet(t)
	f.host("ref", "good", f.joinToken("ref", "10m"))
	f.learnFrom(t, "ref")
	f.host("old", "old-kernel", f.joinToken("old", "10m"))
	f.host("sboff", "secureboot-off", f.joinToken("sboff", "10m"))
	eventually(t, 60*time.Second, func() string {
		for n, code := range map[string]string{"old": "reference.kernel", "sboff": "secureboot.disabled"} {
			if h, err := f.get(n); err != nil || h.ReasonCode != code {
				return n + " is not yet Failed with " + code
			}
		}
		return ""
	})
	env := f.cliEnv(t)
	stored := func() string { return mustCLI(t, env, "policy", "get", "lab") }
	before := stored()

	t.Run("Secure Boot off is refused", func(t *testing.T) {
		out, errOut, code := runCLI(t, env, "policy", "learn", "lab", "sboff", "--yes")
		if code == 0 || !strings.Contains(errOut, "learn.not_a_reference") || !strings.Contains(errOut, "secureboot.disabled") {
			t.Errorf("learn from sboff: exit %d\n%s%s", code, out, errOut)
		}
		if stored() != before {
			t.Errorf("the refused learn changed the policy")
		}
	})
	t.Run("the report's button", func(t *testing.T) {
		opts := webtest.ReferenceOptions{IgnoreCertErrors: true}
		sb := webtest.TakeReference(t, f.url, adminToken(t, f), "sboff", opts)
		if !slices.Contains(sb.Blocking, "secureboot.disabled") || sb.Confirm {
			t.Errorf("Secure-Boot-off host's page: %+v, want secureboot.disabled and no confirm button", sb)
		}
		old := webtest.TakeReference(t, f.url, adminToken(t, f), "old", opts)
		if len(old.Blocking) != 0 || !old.Confirm || !strings.HasPrefix(old.Diff, "+ kernel: ") {
			t.Errorf("old-kernel host's page: %+v, want the kernel it adds and a confirm button", old)
		}
		if stored() != before {
			t.Errorf("the report's preview changed the policy")
		}
	})
	t.Run("old kernel: no terminal and no --yes applies nothing", func(t *testing.T) {
		out, errOut, code := runCLI(t, env, "policy", "learn", "lab", "old")
		if code == 0 || !strings.Contains(out, "+ kernel: ") || !strings.Contains(errOut, "pass --yes") {
			t.Errorf("learn from old without --yes: exit %d\n%s%s", code, out, errOut)
		}
		// As policy set does, learn shows what the change does to the
		// group's hosts before asking: the old-kernel host would pass.
		if !strings.Contains(out, "Preview of group lab under the learnt policy") || !strings.Contains(out, "old") {
			t.Errorf("learn from old shows no preview of the group's hosts:\n%s", out)
		}
		if stored() != before {
			t.Errorf("an unconfirmed learn changed the policy")
		}
	})
	t.Run("old kernel with --yes --expire 7d", func(t *testing.T) {
		out := mustCLI(t, env, "policy", "learn", "lab", "old", "--yes", "--expire", "7d")
		if !strings.Contains(out, "+ kernel: ") || !strings.Contains(out, " expires ") || !strings.Contains(out, "Policy of group lab updated") {
			t.Errorf("learn output:\n%s", out)
		}
		p, err := policy.Parse([]byte(stored()))
		if err != nil {
			t.Fatal(err)
		}
		k := p.References.Kernel
		if len(k) != 2 || time.Until(k[0].Expires) < 6*24*time.Hour || !k[1].Expires.IsZero() {
			t.Fatalf("kernels after learning %+v: want the golden one expiring in 7 days and the old-kernel host's", k)
		}
		mustCLI(t, env, "hosts", "attest", "old")
		eventually(t, 30*time.Second, func() string {
			if h, err := f.get("old"); err != nil || h.Status != "Passed" {
				return "old is " + string(h.Status) + ", want Passed under the learned kernel"
			}
			return ""
		})
	})
}
