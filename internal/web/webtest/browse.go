package webtest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium binary: /usr/bin/chromium, or
// chromium or chromium-browser on PATH; "" when there is none.
func Chromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// ArtefactsDir is where screenshots and exports go: $BOOTPROOF_ARTIFACTS
// (made if absent), or a temporary directory of the test.
func ArtefactsDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("BOOTPROOF_ARTIFACTS")
	if dir == "" {
		return tb.TempDir()
	}
	// One folder per test, so that two walks do not overwrite each
	// other's screenshots.
	dir = filepath.Join(dir, strings.ReplaceAll(tb.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("make artefacts directory: %v", err)
	}
	return dir
}

// Want is what the browser must find.
type Want struct {
	// Counts per status at the top of the fleet page; nil: not checked.
	Counts map[string]int
	// FailedHost is the failed host to open; "" opens the first row of the
	// Failed filter.
	FailedHost string
	// Change, when set, is called once the fleet page is open; the page must
	// then show CountsAfterChange by itself, keeping its URL and scroll.
	Change            func()
	CountsAfterChange map[string]int
	// Timeout bounds the whole walk; 0 means 90 s.
	Timeout time.Duration
	// IgnoreCertErrors lets Chromium accept a certificate it cannot check,
	// such as that of `bootproof demo`, whose CA is its own.
	IgnoreCertErrors bool
}

// Result is what the walk found, for further checks by the caller.
type Result struct {
	FailedHost string     // the host opened
	Reason     string     // its reason, as the fleet table and the host page both show it
	Expected   string     // the reference digest beside...
	Found      string     // ...the host's digest, of the first differing event
	CSV        [][]string // the CSV export of the Failed filter, header first
	Files      []string   // artefacts written: screenshots and the export
}

// Browse walks the report at baseURL (no trailing slash) in headless
// Chromium, signing in with token. It skips the test when no Chromium is
// installed.
func Browse(t *testing.T, baseURL, token string, want Want) Result {
	t.Helper()
	w, stop := open(t, baseURL, want.Timeout, want.IgnoreCertErrors)
	defer stop()
	defer w.checkConsole() // also when a step fails: the console often says why
	w.signIn(token)
	w.checkA11y("fleet page")
	w.checkCounts("fleet page", want.Counts)
	if want.Change != nil {
		w.live(want.Change, want.CountsAfterChange)
	}
	w.filterFailed()
	w.openFailedHost(want.FailedHost)
	w.exportCSV()
	return w.res
}

// open starts headless Chromium on a new profile, skipping the test when
// there is none; stop closes it. timeout 0 means 90 s.
func open(t *testing.T, baseURL string, timeout time.Duration, ignoreCertErrors bool) (w *walk, stop func()) {
	t.Helper()
	bin := Chromium()
	if bin == "" {
		t.Skip("no Chromium: /usr/bin/chromium is absent and neither chromium nor chromium-browser is on PATH (apt-get install chromium)")
	}
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768), // a laptop screen
	}
	if ignoreCertErrors {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	stop = func() { cancelTab(); cancelAlloc(); cancel() }
	w = &walk{t: t, ctx: tab, base: strings.TrimSuffix(baseURL, "/"), dir: ArtefactsDir(t)}
	if err := w.listen(); err != nil {
		stop()
		t.Fatalf("start Chromium %s: %v", bin, err)
	}
	return w, stop
}

// walk is one browser session through the report.
type walk struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	res  Result

	fleetURL string // the fleet page filtered to Failed

	mu      sync.Mutex
	console []string // errors the page wrote or threw
}

// listen starts the browser and records every console error, uncaught
// exception and browser log error (a CSP violation, a failed request).
func (w *walk) listen() error {
	if err := chromedp.Do(w.ctx); err != nil { // starts the browser and attaches the tab
		return err
	}
	return chromedp.Listen(w.ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *page.EventJavascriptDialogOpening:
			msg = fmt.Sprintf("the page opened a %s dialog: %q", ev.Type, ev.Message)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				msg = fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			w.mu.Lock()
			w.console = append(w.console, msg)
			w.mu.Unlock()
		}
	})
}

func (w *walk) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, steps...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](w *walk, what string, a chromedp.Action[T]) T {
	w.t.Helper()
	v, err := chromedp.Run(w.ctx, a)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (w *walk) screenshot(name string) {
	w.t.Helper()
	png := run(w, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		w.t.Fatalf("save screenshot: %v", err)
	}
	w.res.Files = append(w.res.Files, p)
	w.t.Logf("screenshot: %s", p)
}

func (w *walk) signIn(token string) {
	w.t.Helper()
	w.do("open the report", chromedp.Navigate(w.base+"/"))
	loc := run(w, "read location", chromedp.Location())
	if !strings.Contains(loc, "/signin") {
		w.t.Fatalf("the report without a token shows %s, want the sign-in page", loc)
	}
	label := run(w, "read the token field's label",
		chromedp.Evaluate[string](`(document.querySelector('label[for="token"]')||{}).textContent||""`))
	if label == "" {
		w.t.Errorf("the token field has no label")
	}
	w.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#counts")),
	)
}

// checkA11y checks what a keyboard and a screen reader user needs first: a
// language, a label on every form control, and a first Tab that reaches the
// link that skips to the content.
func (w *walk) checkA11y(where string) {
	w.t.Helper()
	type report struct {
		Lang       string
		Unlabelled []string
		FirstTab   string
	}
	w.do("focus the document", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	w.do("press Tab", chromedp.KeyEvent("\t"))
	r := run(w, "inspect "+where, chromedp.Evaluate[report](`({
		Lang: document.documentElement.lang,
		Unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
			.filter(e => !e.labels || e.labels.length === 0).map(e => e.name),
		FirstTab: document.activeElement ? document.activeElement.textContent.trim() : ""})`))
	if r.Lang == "" {
		w.t.Errorf("%s: <html> has no lang", where)
	}
	if len(r.Unlabelled) > 0 {
		w.t.Errorf("%s: form controls without a label: %v", where, r.Unlabelled)
	}
	if r.FirstTab != "Skip to content" {
		w.t.Errorf("%s: the first Tab reaches %q, want the skip link", where, r.FirstTab)
	}
	w.do("leave the skip link", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
}

// counts reads the status counts at the top of the fleet page.
func (w *walk) counts() map[string]int {
	w.t.Helper()
	return run(w, "read counts", chromedp.Evaluate[map[string]int](
		`Object.fromEntries([...document.querySelectorAll('#counts [data-status]')].map(a => [a.dataset.status, Number(a.querySelector('.n').textContent)]))`))
}

func (w *walk) checkCounts(where string, want map[string]int) {
	w.t.Helper()
	got := w.counts()
	if len(got) != 5 {
		w.t.Errorf("%s shows counts for %v, want the five statuses", where, got)
	}
	if want != nil && !mapsEqual(got, want) {
		w.t.Errorf("%s shows counts %v, want %v", where, got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// live changes the fleet behind the page and waits for the page to show it
// without a reload, with the same URL and scroll position.
func (w *walk) live(change func(), want map[string]int) {
	w.t.Helper()
	before := run(w, "read location", chromedp.Location())
	w.do("scroll", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 120)`))
	scroll := run(w, "read scroll", chromedp.Evaluate[float64](`window.scrollY`))
	w.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__bootproofNoReload = true`))
	// A keyboard user sits on a host link while the table updates.
	focusHref := run(w, "focus a host link", chromedp.Evaluate[string](`(() => {
		const a = document.querySelector('#host-rows tr:last-child th a');
		if (!a) return "";
		a.focus({preventScroll: true});
		return a.getAttribute('href');
	})()`))
	change()
	deadline := time.Now().Add(20 * time.Second)
	for !mapsEqual(w.counts(), want) {
		if time.Now().After(deadline) {
			w.t.Fatalf("the fleet page still shows %v 20 s after the change, want %v", w.counts(), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !run(w, "check no reload", chromedp.Evaluate[bool](`window.__bootproofNoReload === true`)) {
		w.t.Errorf("the fleet page reloaded to update; want it updated in place")
	}
	if after := run(w, "read location", chromedp.Location()); after != before {
		w.t.Errorf("the live update moved the page from %s to %s", before, after)
	}
	type focus struct {
		Href        string
		StillListed bool
	}
	f := run(w, "read focus", chromedp.Evaluate[focus](`({
		Href: (document.activeElement && document.activeElement.getAttribute && document.activeElement.getAttribute('href')) || "",
		StillListed: [...document.querySelectorAll('#host-rows th a')].some(a => a.getAttribute('href') === `+jsString(focusHref)+`)})`))
	if focusHref != "" && f.StillListed && f.Href != focusHref {
		w.t.Errorf("the live update moved the keyboard focus from %q to %q", focusHref, f.Href)
	}
	if got := run(w, "read scroll", chromedp.Evaluate[float64](`window.scrollY`)); got != scroll {
		w.t.Errorf("the live update moved the scroll from %v to %v", scroll, got)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (w *walk) filterFailed() {
	w.t.Helper()
	w.do("filter to Failed",
		chromedp.Click(chromedp.CSS(`#counts a[data-status="Failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts a[data-status="Failed"][aria-current="true"]`)),
	)
	loc := run(w, "read location", chromedp.Location())
	if !strings.Contains(loc, "status=Failed") {
		w.t.Errorf("the Failed filter is not in the URL: %s", loc)
	}
	w.fleetURL = loc
	statuses := run(w, "read statuses", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#host-rows tr td .badge')].map(b => b.textContent)`))
	failed := w.counts()["Failed"]
	if len(statuses) == 0 || len(statuses) > failed {
		w.t.Errorf("the Failed filter shows %d rows, with %d failed hosts", len(statuses), failed)
	}
	for _, s := range statuses {
		if s != "Failed" {
			w.t.Errorf("the Failed filter shows a host that is %q", s)
		}
	}
	w.screenshot("fleet-failed.png")
}

func (w *walk) openFailedHost(name string) {
	w.t.Helper()
	type row struct{ Name, Reason, Href string }
	rows := run(w, "read rows", chromedp.Evaluate[[]row](
		`[...document.querySelectorAll('#host-rows tr')].filter(r => r.querySelector('th a')).map(r => ({
			Name: r.querySelector('th a').textContent, Href: r.querySelector('th a').getAttribute('href'),
			Reason: r.querySelector('td.reason').textContent}))`))
	i := slices.IndexFunc(rows, func(r row) bool { return name == "" || r.Name == name })
	if i < 0 {
		w.t.Fatalf("the Failed filter does not list host %q (rows: %v)", name, rows)
	}
	r := rows[i]
	if r.Reason == "" {
		w.t.Errorf("failed host %q has no reason in the fleet table", r.Name)
	}
	w.res.FailedHost = r.Name
	w.do("open host "+r.Name,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#host-rows tr:nth-child(%d) th a`, i+1))),
		chromedp.WaitVisible(chromedp.CSS(`#checks-h`)),
	)
	h1 := run(w, "read heading", chromedp.Text(chromedp.CSS(`h1 .hostname`)))
	if h1 != r.Name {
		w.t.Errorf("host page is titled %q, want %q", h1, r.Name)
	}
	reason := run(w, "read reason", chromedp.Evaluate[string](`(document.getElementById('reason')||{}).textContent||""`))
	if reason != r.Reason {
		w.t.Errorf("host page gives the reason %q, the fleet table %q", reason, r.Reason)
	}
	w.res.Reason = reason
	type diff struct{ Expected, Found, Heading string }
	d := run(w, "read the differing event", chromedp.Evaluate[diff](`(() => {
		const t = document.querySelector('#differs table.diff');
		if (!t) return {Expected: "", Found: "", Heading: ""};
		return {Expected: t.querySelector('td.expected').textContent, Found: t.querySelector('td.found').textContent,
			Heading: t.closest('article').querySelector('h3').textContent};
	})()`))
	if d.Expected == "" || d.Found == "" || d.Expected == d.Found {
		w.t.Errorf("host %q shows no differing event side by side with the reference (expected %q, found %q)", r.Name, d.Expected, d.Found)
	}
	w.res.Expected, w.res.Found = d.Expected, d.Found
	w.screenshot("host-failed.png")
	w.do("back to the fleet", chromedp.Navigate(w.fleetURL), chromedp.WaitVisible(chromedp.CSS(`#counts`)))
}

func (w *walk) exportCSV() {
	w.t.Helper()
	dl := filepath.Join(w.dir, "downloads")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		w.t.Fatal(err)
	}
	progress := chromedp.Events(w.ctx, browser.DownloadProgress)
	yes := true
	w.do("export CSV",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS(`.exports a[href^="/export.csv"]`)),
	)
	var guid string
	for ev, err := range progress {
		if err != nil {
			w.t.Fatalf("wait for the CSV download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			w.t.Fatalf("the CSV download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	p := filepath.Join(w.dir, "fleet-failed.csv")
	if err := os.Rename(filepath.Join(dl, guid), p); err != nil {
		w.t.Fatalf("keep the CSV export: %v", err)
	}
	w.res.Files = append(w.res.Files, p)
	f, err := os.Open(p)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		w.t.Fatalf("the export is not CSV: %v", err)
	}
	w.res.CSV = recs
	if len(recs) == 0 || !slices.Contains(recs[0], "status") {
		w.t.Fatalf("the CSV export has no header: %v", recs)
	}
	col := slices.Index(recs[0], "status")
	if got, want := len(recs)-1, w.counts()["Failed"]; got != want {
		w.t.Errorf("the CSV export of the Failed filter has %d hosts, the page counts %d", got, want)
	}
	var names []string
	for _, r := range recs[1:] {
		if r[col] != "Failed" {
			w.t.Errorf("the CSV export of the Failed filter holds a host that is %q", r[col])
		}
		names = append(names, r[0])
	}
	if !slices.Contains(names, w.res.FailedHost) {
		w.t.Errorf("the CSV export does not list %q", w.res.FailedHost)
	}
}

func (w *walk) checkConsole() {
	w.t.Helper()
	// Let late messages (a poll in flight) arrive.
	time.Sleep(300 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.console) > 0 {
		w.t.Errorf("the browser reported %d errors:\n%s", len(w.console), strings.Join(w.console, "\n"))
	}
}
