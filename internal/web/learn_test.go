package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLearnFlow: the reference button shows the change and a confirm
// button; a host that cannot be a reference gets the blocking checks and
// no confirm button; confirming applies the version shown, and a
// policy changed in between is refused (409) without applying.
func TestLearnFlow(t *testing.T) {
	e := newTestEnv(t)
	e.actions.previews = map[string]LearnPreview{
		"esx-02": {Group: "lab", Version: "v1", Blocking: []LearnBlocker{{Code: "secureboot.disabled", Message: "Secure Boot is off."}}},
	}
	op := e.signedIn(t, operatorToken)
	csrf := csrfOf(t, e.get(t, op, "/hosts/esx-01").body)
	tests := []struct {
		name     string
		path     string
		form     url.Values
		version  string // the group's policy version at the time
		wantCode int
		want     []string
		dontWant []string
		wantCall string
	}{
		{name: "diff and confirm", path: "/hosts/esx-01/reference", form: url.Values{"csrf": {csrf}}, wantCode: 200,
			want:     []string{`<pre class="diff" id="diff">&#43; kernel: /vmlinuz-6.12`, `action="/hosts/esx-01/reference/confirm"`, `name="version" value="v1"`, `id="confirm"`},
			dontWant: []string{`id="blocking"`}, wantCall: "preview olga esx-01"},
		{name: "refused with the reason and no confirm", path: "/hosts/esx-02/reference", form: url.Values{"csrf": {csrf}}, wantCode: 200,
			want:     []string{`This boot cannot be a reference`, `<li class="blocker" data-code="secureboot.disabled"><code>secureboot.disabled</code>: Secure Boot is off.</li>`},
			dontWant: []string{`id="confirm"`, `/reference/confirm`}, wantCall: "preview olga esx-02"},
		{name: "policy changed since the preview", path: "/hosts/esx-01/reference/confirm", form: url.Values{"csrf": {csrf}, "version": {"v1"}}, version: "v2",
			wantCode: 409, want: []string{"changed since you saw the change; nothing was applied"}},
		{name: "confirm for a host that can no longer be a reference", path: "/hosts/esx-02/reference/confirm", form: url.Values{"csrf": {csrf}, "version": {"v1"}},
			wantCode: 409, want: []string{"can no longer be a reference; nothing was applied"}},
		{name: "confirm without a version", path: "/hosts/esx-01/reference/confirm", form: url.Values{"csrf": {csrf}}, wantCode: 400},
		{name: "confirm of the version shown", path: "/hosts/esx-01/reference/confirm", form: url.Values{"csrf": {csrf}, "version": {"v1"}},
			wantCode: http.StatusSeeOther, wantCall: "reference v1 olga esx-01"},
		{name: "unknown host", path: "/hosts/nope/reference", form: url.Values{"csrf": {csrf}}, wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.actions.version = tt.version
			before := len(e.actions.calls)
			r := e.post(t, op, tt.path, tt.form)
			if r.code != tt.wantCode {
				t.Fatalf("POST %s: %d, want %d:\n%s", tt.path, r.code, tt.wantCode, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q:\n%s", w, r.body)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(r.body, w) {
					t.Errorf("page has %q", w)
				}
			}
			calls := e.actions.calls[before:]
			if (tt.wantCall == "" && len(calls) != 0) || (tt.wantCall != "" && (len(calls) != 1 || calls[0] != tt.wantCall)) {
				t.Errorf("actions called %q, want %q", calls, tt.wantCall)
			}
		})
	}
}
