package webtest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// Reference is what the host page's "Take this boot as the group's
// reference" button showed.
type Reference struct {
	// Blocking are the codes of the checks that keep the boot from being
	// a reference; empty when the change was offered.
	Blocking []string
	// Diff is the change shown, one line a change.
	Diff string
	// Confirm says the page offered "Apply this change".
	Confirm bool
	// Flash is the host page's message after applying; "" when not
	// applied.
	Flash string
}

// ReferenceOptions say how far TakeReference goes.
type ReferenceOptions struct {
	// Apply presses "Apply this change" when the page offers it.
	Apply bool
	// IgnoreCertErrors as in Want.
	IgnoreCertErrors bool
}

// TakeReference signs in with an operator's token, opens host's page,
// presses the reference button and reads the page it gets; with o.Apply,
// it then presses "Apply this change" when offered and reads the host
// page's message. It skips the test when no Chromium is installed.
func TakeReference(t *testing.T, baseURL, token, host string, o ReferenceOptions) Reference {
	t.Helper()
	w, stop := open(t, baseURL, 0, o.IgnoreCertErrors)
	defer stop()
	defer w.checkConsole()
	w.signIn(token)
	w.do("open host "+host, chromedp.Navigate(w.base+"/hosts/"+host), chromedp.WaitVisible(chromedp.CSS(`h1 .hostname`)))
	w.do("press the reference button",
		chromedp.Click(chromedp.CSS(`form[action$="/reference"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#blocking, #changes`)),
	)
	w.checkA11y("reference page")
	var r Reference
	r.Blocking = run(w, "read the blocking checks", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#blocking li.blocker')].map(li => li.dataset.code)`))
	r.Diff = run(w, "read the diff", chromedp.Evaluate[string](`(document.getElementById('diff')||{}).textContent||""`))
	r.Confirm = run(w, "look for the confirm button", chromedp.Evaluate[bool](`!!document.getElementById('confirm')`))
	w.screenshot("reference-" + host + ".png")
	if !o.Apply || !r.Confirm {
		return r
	}
	w.do("apply the change",
		chromedp.Click(chromedp.CSS(`#confirm`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	r.Flash = run(w, "read the message", chromedp.Text(chromedp.CSS(`p.flash`)))
	return r
}
