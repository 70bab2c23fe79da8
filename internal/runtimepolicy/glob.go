package runtimepolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// Exclude globs match a whole path, as the kernel logs it:
//
//   - `*` matches any run of characters within one path element (no `/`):
//     `/tmp/*` matches /tmp/a but neither /tmp nor /tmp/a/b;
//   - `**` matches any run of characters, `/` included: `/var/log/**`
//     matches /var/log/a and /var/log/a/b, not /var/log itself;
//   - `?` matches one character other than `/`;
//   - every other character is itself: there are no classes, braces or
//     escapes, so a path with `[` in it needs no quoting.
//
// Unlike Keylime's exclude regexes a glob is anchored at both ends (`/tmp`
// never excludes /tmpfoo/x) and an empty one is an error, not a match of
// everything.

// checkGlob says why a glob is not one (empty, or three stars in a row).
func checkGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty glob, which would match nothing; to exclude everything use /**")
	}
	if strings.Contains(g, "***") {
		return fmt.Errorf("glob %q: three stars in a row; use * (one path element) or ** (any depth)", g)
	}
	return nil
}

// globRegexp translates a checked glob to an anchored regular expression.
// Go's regexp runs in time linear in the path, so no glob can make
// judging slow.
func globRegexp(g string) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		switch {
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(`.*`)
			i++
		case g[i] == '*':
			b.WriteString(`[^/]*`)
		case g[i] == '?':
			b.WriteString(`[^/]`)
		default:
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	return b.String()
}

// glob is a compiled exclude: its literal prefix, checked first because
// most paths share none of it, and its regular expression.
type glob struct {
	text, prefix string
	re           *regexp.Regexp
}

// compileGlob compiles one glob.
func compileGlob(g string) (glob, error) {
	if err := checkGlob(g); err != nil {
		return glob{}, err
	}
	re, err := regexp.Compile(`(?s)\A` + globRegexp(g) + `\z`)
	if err != nil {
		return glob{}, fmt.Errorf("glob %q: %w", g, err)
	}
	prefix := g
	if i := strings.IndexAny(g, "*?"); i >= 0 {
		prefix = g[:i]
	}
	return glob{text: g, prefix: prefix, re: re}, nil
}

// match reports whether the glob matches a path.
func (g *glob) match(path string) bool {
	return strings.HasPrefix(path, g.prefix) && g.re.MatchString(path)
}

// MatchGlob reports whether a path matches one glob (see the rules above).
func MatchGlob(g, path string) (bool, error) {
	c, err := compileGlob(g)
	if err != nil {
		return false, err
	}
	return c.match(path), nil
}
