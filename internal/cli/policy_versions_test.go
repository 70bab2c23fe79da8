package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/policy"
)

// runWithInput runs bootproof with stdin in.
func runWithInput(in string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, IO{In: strings.NewReader(in), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// TestPolicyVersionCommands: `policy set` previews and asks, stores nothing
// when not confirmed, and stores a version with --yes; history, diff,
// preview and rollback say what a person checks.
func TestPolicyVersionCommands(t *testing.T) {
	const name = "esx-pol"
	env, conn := attestedVerifier(t, name)
	admin := append(append([]string{}, conn...), "--token", env.AdminToken) // the last --token wins
	bare, err := policy.Default().Marshal()                                 // trusts no bundle root: the host would fail
	if err != nil {
		t.Fatal(err)
	}
	file := writeTestFile(t, filepath.Join(t.TempDir(), "bare.yaml"), bare)
	versions := func() int {
		vs, err := env.Server.Verifier.PolicyHistory(context.Background(), "lab")
		if err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}

	code, out, errs := runWithInput("n\n", append([]string{"policy", "set", "lab", file}, admin...)...)
	wantAll(t, "policy set answered n", out+errs, "would pass 0, would fail 1", "unchanged 0, changed 1",
		name+"  Passed -> Failed", "freshness", "Store "+file+" as the next policy version of lab? [y/N]", "policy not stored")
	if code == 0 || versions() != 1 {
		t.Errorf("policy set answered n: exit %d, %d versions; want a failure and 1 version", code, versions())
	}

	out = mustRun(t, append([]string{"policy", "set", "lab", file, "--yes", "--comment", "no vendor roots"}, admin...)...)
	wantAll(t, "policy set --yes", out, "would fail 1", "policy of lab updated: version 2")

	out = mustRun(t, append([]string{"policy", "history", "lab"}, conn...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "VERSION") || !strings.HasPrefix(lines[1], "2 (current)") ||
		!strings.Contains(lines[1], "no vendor roots") || !strings.Contains(lines[1], "admin") ||
		!strings.HasPrefix(lines[2], "1 ") || !strings.Contains(lines[2], " test ") {
		t.Errorf("policy history:\n%s\nwant version 2 (current) by an admin token with its comment, then 1 by test", out)
	}

	out = mustRun(t, append([]string{"policy", "diff", "lab", "1", "2"}, conn...)...)
	wantAll(t, "policy diff 1 2", out, "--- lab version 1 (", "+++ lab version 2 (", "by test", ": no vendor roots", "- ", "BEGIN CERTIFICATE")
	if strings.Contains(out, "same policy") {
		t.Errorf("policy diff of different versions says they are the same:\n%s", out)
	}

	out = mustRun(t, append([]string{"policy", "rollback", "lab", "1"}, admin...)...)
	wantAll(t, "policy rollback", out, "policy of lab rolled back to version 1, stored as version 3")
	out = mustRun(t, append([]string{"policy", "diff", "lab", "1", "3"}, conn...)...)
	wantAll(t, "policy diff 1 3", out, "(the two versions are the same policy)", "rollback to version 1")

	out = mustRun(t, append([]string{"policy", "preview", "lab", file}, admin...)...)
	wantAll(t, "policy preview", out, "Preview of group lab under "+file+": 1 hosts re-appraised", "changed 1", name)
	if n := versions(); n != 3 {
		t.Errorf("%d versions after preview, want 3 (a preview stores nothing)", n)
	}

	if code, _, errs := runBootproof(t, append([]string{"policy", "diff", "lab", "1", "x"}, conn...)...); code == 0 || !strings.Contains(errs, `policy version "x"`) {
		t.Errorf("policy diff with a bad version: exit %d %q", code, errs)
	}
}

func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name, a, b, want string
		changed          bool
	}{
		{"same", "a\nb\n", "a\nb\n", "  a\n  b\n", false},
		{"added", "a\nc\n", "a\nb\nc\n", "  a\n+ b\n  c\n", true},
		{"removed", "a\nb\nc\n", "a\nc\n", "  a\n- b\n  c\n", true},
		{"changed", "interval: 5m\nx: 1\n", "interval: 7m\nx: 1\n", "- interval: 5m\n+ interval: 7m\n  x: 1\n", true},
		{"from empty", "", "a\n", "+ a\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			changed := lineDiff(&b, tt.a, tt.b)
			if b.String() != tt.want || changed != tt.changed {
				t.Errorf("lineDiff = %q %v, want %q %v", b.String(), changed, tt.want, tt.changed)
			}
		})
	}
}
