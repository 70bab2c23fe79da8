package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommandsExist checks that every `bootproof ...` command the
// README and docs show is a real command with help, and that every
// top-level command is in the README: the two stay consistent.
func TestReadmeCommandsExist(t *testing.T) {
	var text strings.Builder
	for _, f := range append([]string{"../../README.md"}, glob(t, "../../docs/*.md")...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	// Commands as the docs show them: in code blocks (indented lines) and
	// in backticks; prose such as "bootproof tells ..." is not a command.
	re := regexp.MustCompile("(?m)(?:^[ \t]+|`)bootproof ([a-z][a-z-]+)(?: ([a-z][a-z-]+))?")
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(text.String(), -1) {
		args := []string{m[1]}
		if m[2] != "" {
			args = append(args, m[2])
		}
		key := strings.Join(args, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		root := NewRoot(IO{})
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("the docs show `bootproof %s`, which is not a command", key)
			continue
		}
		if len(rest) > 0 && cmd.HasSubCommands() {
			t.Errorf("the docs show `bootproof %s`: %q is not a subcommand of %q", key, rest[0], cmd.Name())
		}
	}
	for _, c := range NewRoot(IO{}).Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(text.String(), "bootproof "+c.Name()) {
			t.Errorf("`bootproof %s` is not in the README or docs", c.Name())
		}
		var out bytes.Buffer
		if code := Main(context.Background(), []string{c.Name(), "--help"}, IO{Out: &out, Err: &out}); code != 0 || out.Len() == 0 {
			t.Errorf("`bootproof %s --help` exit %d, output %q", c.Name(), code, out.String())
		}
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
