package cli

import (
	"fmt"
	"io"
	"strings"
)

// lineDiff writes the line diff of a to b, unified style without hunks:
// every line, prefixed "  " when in both, "- " when only in a and "+ "
// when only in b. Policies are short (a few hundred lines at most), so the
// longest common subsequence is computed in full. (A readable diff of two
// policies by meaning is internal/policy's; this one shows the YAML as
// stored.)
func lineDiff(w io.Writer, a, b string) (changed bool) {
	x, y := splitLines(a), splitLines(b)
	// lcs[i][j] is the length of the LCS of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			fmt.Fprintf(w, "  %s\n", x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(w, "- %s\n", x[i]) // removals before additions, as diff -u
			i, changed = i+1, true
		default:
			fmt.Fprintf(w, "+ %s\n", y[j])
			j, changed = j+1, true
		}
	}
	return changed
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
