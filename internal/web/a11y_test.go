package web

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// Status colours must be readable (WCAG 2.1 AA: contrast of at least 4.5:1
// for text), and so must the muted text, the links and the focus ring.
func TestColourContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/report.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{"fg", "bg"}, {"muted", "bg"}, {"muted", "panel"}, {"link", "bg"}, {"link", "panel"}, {"focus", "bg"},
		{"passed-fg", "passed-bg"}, {"failed-fg", "failed-bg"}, {"na-fg", "na-bg"},
		{"unreach-fg", "unreach-bg"}, {"pending-fg", "pending-bg"},
		{"passed-fg", "bg"}, {"failed-fg", "bg"}, // placement allow/deny on white
	}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		if fg == "" || bg == "" {
			t.Errorf("report.css does not define --%s or --%s", p[0], p[1])
			continue
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("--%s %s on --%s %s: contrast %.2f:1, want at least 4.5:1", p[0], fg, p[1], bg, r)
		}
	}
}

// contrast is the WCAG 2.1 contrast ratio of two sRGB colours "#rrggbb".
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
