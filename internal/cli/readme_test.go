package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/demo"
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

// TestReadmeDemoTable: README.md's demo table names every host the demo
// starts exactly once, and gives each host that is not Passed its first
// reason as `code`: sentence. (e2e TestOneHeadlineEverywhere checks that
// these are the codes and sentences the demo shows.)
func TestReadmeDemoTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| host | status | first reason")
	if !ok {
		t.Fatal("README.md has no demo table with a first reason column")
	}
	_, table, _ = strings.Cut(table, "| --- | --- | --- |\n")
	table, _, _ = strings.Cut(table, "\n\n")
	seen := map[string]int{}
	reason := regexp.MustCompile("^`[a-z0-9_]+\\.[a-z0-9_]+`: [A-Z].*\\.$")
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		for _, m := range regexp.MustCompile("`(esx-[^`]+)`").FindAllStringSubmatch(cells[0], -1) {
			seen[m[1]]++
		}
		if passed := len(cells) >= 2 && cells[1] == "Passed"; !passed && (len(cells) != 3 || !reason.MatchString(cells[2])) {
			t.Errorf("README demo table row %q: want hosts | status | `code`: sentence", line)
		}
	}
	for _, m := range demo.Fleet(12) {
		if seen[m.Name] != 1 {
			t.Errorf("README's demo table names %s %d times, want once", m.Name, seen[m.Name])
		}
	}
}
