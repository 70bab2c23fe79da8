package web

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/web/webtest"
)

// TestBrowser walks the report in headless Chromium over the fixture fleet:
// sign in, counts, a live status change, the Failed filter, a failed host's
// reason and differing event, the CSV export; screenshots go to
// $BOOTPROOF_ARTIFACTS. It skips when Chromium is not installed.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	e := newTestEnv(t, func(c *Config) { c.PollInterval = 300 * time.Millisecond })
	res := webtest.Browse(t, e.srv.URL, viewerToken, webtest.Want{
		Counts:     map[string]int{"Passed": 1, "Failed": 3, "N/A": 1, "Unreachable": 1, "Pending": 1},
		FailedHost: "esx-02",
		Change: func() {
			e.src.setStatus("esx-01", StatusFailed, "The boot loader is not in the group's reference values.", e.now.Add(time.Second))
		},
		CountsAfterChange: map[string]int{"Passed": 0, "Failed": 4, "N/A": 1, "Unreachable": 1, "Pending": 1},
	})
	if res.Reason != "The kernel's digest is not in the group's reference values." {
		t.Errorf("reason found = %q", res.Reason)
	}
	if !strings.HasPrefix(res.Expected, "21fc805459fa0ebe") || res.Found == "" {
		t.Errorf("differing event: expected %q, found %q", res.Expected, res.Found)
	}
	var names []string
	for _, r := range res.CSV[1:] {
		names = append(names, r[0])
	}
	if want := []string{hostileName, "esx-01", "esx-02", "kvm-06"}; !slices.Equal(names, want) {
		t.Errorf("CSV export lists %q, want %q", names, want)
	}
}

// TestBrowserAgainstReport walks a report that already runs, such as
// `bootproof demo`'s: set BOOTPROOF_REPORT_URL and BOOTPROOF_REPORT_TOKEN
// (a viewer token). The fleet must have a failed host.
func TestBrowserAgainstReport(t *testing.T) {
	base, token := os.Getenv("BOOTPROOF_REPORT_URL"), os.Getenv("BOOTPROOF_REPORT_TOKEN")
	if base == "" || token == "" {
		t.Skip("set BOOTPROOF_REPORT_URL and BOOTPROOF_REPORT_TOKEN to walk a running report")
	}
	res := webtest.Browse(t, base, token, webtest.Want{IgnoreCertErrors: strings.HasPrefix(base, "https:")})
	t.Logf("opened %s: %s", res.FailedHost, res.Reason)
}
