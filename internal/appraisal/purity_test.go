package appraisal

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the verifier's core pure (STYLE.md): no network, storage,
// processes or logging, no clock, and a package comment, for this package
// and for package policy.
func TestPure(t *testing.T) {
	forbidden := []string{"net/http", "database/sql", "os/exec", "log/slog", "log"}
	for _, dir := range []string{".", filepath.Join("..", "policy")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		hasDoc := false
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(name) == "doc.go" && f.Doc != nil {
				hasDoc = true
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if p == bad {
						t.Errorf("%s imports %s", name, p)
					}
				}
			}
			if strings.Contains(string(src), "time.Now(") {
				t.Errorf("%s reads the clock: time is passed in", name)
			}
		}
		if !hasDoc {
			t.Errorf("%s: no doc.go with a package comment", dir)
		}
	}
}
