// Package internal_test checks the shape of the code: every package says
// what it does in a doc.go, and the pure core imports no network, database,
// process or logging package.
package internal_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pure packages judge bytes; they must not reach the network, a database,
// other processes or a logger (and take the time as an argument).
var pure = []string{"eventlog", "uefi", "bundle", "policy", "appraisal", "enroll", "trusttoken", "wire", "quote", "memo", "runtimepolicy", "measure", "ima"}

var forbiddenInPure = []string{"net/http", "database/sql", "os/exec", "log/slog", "log"}

type pkg struct {
	path, dir string
	imports   []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{.Dir}}|{{join .Imports \" \"}}", "github.com/bootproof/bootproof/...").Output()
	if err != nil {
		t.Skipf("go list is not available: %v", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		pkgs = append(pkgs, pkg{path: f[0], dir: f[1], imports: strings.Fields(f[2])})
	}
	return pkgs
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.path == "github.com/bootproof/bootproof/internal" {
			continue // this test's own folder
		}
		doc := "doc.go"
		if strings.Contains(p.path, "/cmd/") {
			doc = "main.go" // a command says what it is above package main
		}
		b, err := os.ReadFile(filepath.Join(p.dir, doc))
		if err != nil {
			t.Errorf("%s has no doc.go saying what it does", p.path)
			continue
		}
		if !strings.Contains(string(b), "// Package ") && !strings.Contains(string(b), "// Command ") {
			t.Errorf("%s/doc.go has no package comment", p.path)
		}
	}
}

func TestPureCoreImportsNoIO(t *testing.T) {
	for _, p := range listPackages(t) {
		name := strings.TrimPrefix(p.path, "github.com/bootproof/bootproof/internal/")
		isPure := false
		for _, q := range pure {
			isPure = isPure || name == q
		}
		if !isPure {
			continue
		}
		for _, imp := range p.imports {
			for _, bad := range forbiddenInPure {
				if imp == bad {
					t.Errorf("pure package %s imports %s", name, imp)
				}
			}
		}
	}
}
