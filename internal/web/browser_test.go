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

// TestBrowserTakeReference presses "Take this boot as the group's
// reference" in headless Chromium: a Secure-Boot-off host gets its
// blocking check and no confirm button; an old-kernel host gets the diff
// and a confirm button, and only pressing it applies the change.
func TestBrowserTakeReference(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	e := newTestEnv(t)
	e.actions.previews = map[string]LearnPreview{
		"esx-02": {Group: "lab", Blocking: []LearnBlocker{{Code: "secureboot.disabled", Message: "Secure Boot was disabled at boot."}}},
	}
	refused := webtest.TakeReference(t, e.srv.URL, operatorToken, "esx-02", webtest.ReferenceOptions{Apply: true})
	if !slices.Equal(refused.Blocking, []string{"secureboot.disabled"}) || refused.Confirm || refused.Flash != "" {
		t.Errorf("Secure-Boot-off host: %+v, want secureboot.disabled, no confirm button, nothing applied", refused)
	}
	shown := webtest.TakeReference(t, e.srv.URL, operatorToken, "esx-01", webtest.ReferenceOptions{})
	if len(shown.Blocking) != 0 || !shown.Confirm || !strings.HasPrefix(shown.Diff, "+ kernel: /vmlinuz-6.12") {
		t.Errorf("old-kernel host: %+v, want the kernel it adds and a confirm button", shown)
	}
	if slices.ContainsFunc(e.actions.calls, func(c string) bool { return strings.HasPrefix(c, "reference ") }) {
		t.Fatalf("a change was applied without confirmation: %q", e.actions.calls)
	}
	applied := webtest.TakeReference(t, e.srv.URL, operatorToken, "esx-01", webtest.ReferenceOptions{Apply: true})
	if !strings.HasPrefix(applied.Flash, "This host's boot is now its group's reference") || !slices.Contains(e.actions.calls, "reference v1 olga esx-01") {
		t.Errorf("after confirming: flash %q, calls %q", applied.Flash, e.actions.calls)
	}
}
