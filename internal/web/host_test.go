package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostPage(t *testing.T) {
	e := newTestEnv(t)
	viewer := e.signedIn(t, viewerToken)
	tests := []struct {
		name, host string
		wantCode   int
		want       []string
		dontWant   []string
	}{
		{
			name: "failed host shows the differing event beside the reference", host: "esx-02", wantCode: 200,
			want: []string{
				`<dd id="reason" data-code="reference.kernel_mismatch">The kernel&#39;s digest is not in the group&#39;s reference values.</dd>`,
				`<h2 id="differs-h">What differs from the reference</h2>`,
				`<code>reference.kernel_mismatch</code>`,
				`<tr><th scope="row">Component</th><td colspan="2">kernel</td></tr>`,
				`<tr><th scope="row">PCR</th><td colspan="2">5</td></tr>`,
				`<tr><th scope="row">Bank</th><td colspan="2">sha256</td></tr>`,
				`<tr><th scope="row">Event</th><td colspan="2">31</td></tr>`,
				`<td class="expected"><code>21fc805459fa0ebe`, // sha256("esx kernel 6.7.0")
				`<td class="found"><code>`,
				`<span class="pl pl-deny">deny</span> status is Failed`,
				`Secure Boot is <strong class="badge st-passed">on</strong>`,
				`<li>Example OS Vendor 2026 <code title="SHA-256 fingerprint be1304afc13d68e5f36a6dcb098cf571b475cc7dd4790bcc495f68ec66fbe309">sha256:be1304afc13d68e5…</code></li>`,
				`<div><dt>dbx</dt><dd>12 entries</dd></div>`,
				`<summary>sha256 (9 PCRs)</summary>`, `<summary>sha512 (9 PCRs)</summary>`,
				`<tr><th scope="row">esx-base</th><td>6.7.0-3.73</td><td>Example OS Vendor</td><td>certified</td><td>valid (chains to Example OS Vendor Root)</td></tr>`,
				`Passed → <span class="badge st-failed">Failed</span>`,
				`<time datetime="2026-01-15T11:40:00Z">2026-01-15T11:40:00Z</time> <span class="rel">(20 min ago)</span>`,
				`<p id="judged-under">Judged under policy version 4 of group prod-a (<code>bootproof policy history prod-a</code>).</p>`,
			},
			dontWant: []string{"Attest now"},
		},
		{
			name: "passed host has no differences", host: "esx-01", wantCode: 200,
			want:     []string{`<span class="pl pl-allow">allow</span>`, `<span class="badge st-passed">Passed</span>`, `The quote carries the nonce the verifier issued.`},
			dontWant: []string{"What differs", "judged-under"}, // recorded before versions: no version to name
		},
		{
			name: "TPM 1.2 host: nothing measured", host: "esx-03", wantCode: 200,
			want: []string{"No verdict yet.", "Unknown: the host sent no readable Secure Boot measurements.", "No quoted PCRs.", "No bundles reported.", "<dd>1.2</dd>"},
		},
		{
			name: "secure boot off", host: "kvm-06", wantCode: 200,
			want: []string{`Secure Boot is <strong class="badge st-failed">off</strong>`, `<code>01 (enabled)</code>`, `<code>00 (disabled)</code>`, "invalid: no chain to a trusted vendor root"},
		},
		{
			name: "unknown host", host: "nope", wantCode: 404,
			want: []string{"No host is named &#34;nope&#34;."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, viewer, hostHref(tt.host))
			if r.code != tt.wantCode {
				t.Fatalf("GET %s: status %d, want %d", hostHref(tt.host), r.code, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(r.body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

// A host name, group, reason or check that holds markup is shown as text,
// everywhere: nothing a host reports may run in an operator's browser.
func TestHostileHostIsEscaped(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	fleet := e.get(t, c, "/")
	host := e.get(t, c, hostHref(hostileName))
	if host.code != 200 {
		t.Fatalf("GET the hostile host's page: status %d", host.code)
	}
	for name, page := range map[string]string{"fleet": fleet.body, "host": host.body} {
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload", "<b>bold</b>", "<i>loader</i>", `"><img`} {
			if strings.Contains(page, raw) {
				t.Errorf("%s page contains unescaped %q", name, raw)
			}
		}
	}
	if !strings.Contains(fleet.body, `&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;`) {
		t.Errorf("fleet page does not show the hostile name as text")
	}
	if !strings.Contains(fleet.body, `href="/hosts/%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E"`) {
		t.Errorf("fleet page does not link the hostile host by its escaped path")
	}
	if !strings.Contains(host.body, `<code>&#34;&#39;&gt;&lt;svg onload=alert(4)&gt;</code>`) {
		t.Errorf("host page does not show the hostile expected value as text")
	}
}

func TestHostNameWithSlash(t *testing.T) {
	e := newTestEnv(t)
	e.src.hosts = append(e.src.hosts, HostDetail{HostRow: HostRow{Name: "rack 1/esx 7", Status: StatusPending}})
	r := e.get(t, e.signedIn(t, viewerToken), hostHref("rack 1/esx 7"))
	if r.code != 200 || !strings.Contains(r.body, `<span class="hostname">rack 1/esx 7</span>`) {
		t.Errorf("GET %s: status %d; the page does not name the host", hostHref("rack 1/esx 7"), r.code)
	}
}

func TestActions(t *testing.T) {
	e := newTestEnv(t)
	viewer := e.signedIn(t, viewerToken)
	operator := e.signedIn(t, operatorToken)
	admin := e.signedIn(t, adminToken)
	opPage := e.get(t, operator, "/hosts/esx-02").body
	if !strings.Contains(opPage, "Attest now") || !strings.Contains(opPage, "Take this boot as the group's reference") {
		t.Fatalf("operator's host page lacks the buttons")
	}
	if vp := e.get(t, viewer, "/hosts/esx-02").body; strings.Contains(vp, "Attest now") || !strings.Contains(vp, "Sign in with an operator token") {
		t.Errorf("viewer's host page shows the buttons or does not say who may press them")
	}
	opCSRF := csrfOf(t, opPage)
	adminCSRF := csrfOf(t, e.get(t, admin, "/hosts/esx-02").body)
	viewerCSRF := csrfOf(t, e.get(t, viewer, "/hosts/esx-02").body)
	if opCSRF == adminCSRF {
		t.Errorf("two tokens have the same CSRF token")
	}

	tests := []struct {
		name         string
		client       *http.Client
		path         string
		form         url.Values
		header       map[string]string
		wantCode     int
		wantLocation string
		wantCall     string
	}{
		{name: "viewer may not attest", client: viewer, path: "/hosts/esx-02/attest", form: url.Values{"csrf": {viewerCSRF}}, wantCode: 403},
		{name: "operator without CSRF token", client: operator, path: "/hosts/esx-02/attest", wantCode: 403},
		{name: "operator with another's CSRF token", client: operator, path: "/hosts/esx-02/attest", form: url.Values{"csrf": {adminCSRF}}, wantCode: 403},
		{name: "cross-site form post", client: operator, path: "/hosts/esx-02/attest", form: url.Values{"csrf": {opCSRF}},
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, wantCode: 403},
		{name: "operator attests", client: operator, path: "/hosts/esx-02/attest", form: url.Values{"csrf": {opCSRF}},
			wantCode: 303, wantLocation: "/hosts/esx-02?done=attest", wantCall: "attest olga esx-02"},
		{name: "admin previews the reference", client: admin, path: "/hosts/esx-01/reference", form: url.Values{"csrf": {adminCSRF}},
			wantCode: 200, wantCall: "preview adam esx-01"},
		{name: "admin confirms the reference", client: admin, path: "/hosts/esx-01/reference/confirm", form: url.Values{"csrf": {adminCSRF}, "version": {"v1"}},
			wantCode: 303, wantLocation: "/hosts/esx-01?done=reference", wantCall: "reference v1 adam esx-01"},
		{name: "viewer may not preview the reference", client: viewer, path: "/hosts/esx-01/reference", form: url.Values{"csrf": {viewerCSRF}}, wantCode: 403},
		{name: "confirm without CSRF token", client: operator, path: "/hosts/esx-01/reference/confirm", form: url.Values{"version": {"v1"}}, wantCode: 403},
		{name: "operator with a Bearer header needs no CSRF token", client: &http.Client{}, path: "/hosts/kvm-06/attest",
			header: map[string]string{"Authorization": "Bearer " + operatorToken}, wantCode: 303, wantCall: "attest olga kvm-06"},
		{name: "viewer with a Bearer header may not", client: &http.Client{}, path: "/hosts/kvm-06/attest",
			header: map[string]string{"Authorization": "Bearer " + viewerToken}, wantCode: 403},
		{name: "unknown host", client: operator, path: "/hosts/nope/attest", form: url.Values{"csrf": {opCSRF}}, wantCode: 404},
		{name: "GET is not allowed", client: operator, path: "/hosts/esx-02/attest", wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.actions.calls)
			method := http.MethodPost
			if tt.wantCode == 405 {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, e.srv.URL+tt.path, strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			c := tt.client
			if c.CheckRedirect == nil {
				c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			}
			r := do(t, c, req)
			if r.code != tt.wantCode {
				t.Fatalf("POST %s: status %d, want %d; body:\n%s", tt.path, r.code, tt.wantCode, r.body)
			}
			if tt.wantLocation != "" && r.header.Get("Location") != tt.wantLocation {
				t.Errorf("Location = %q, want %q", r.header.Get("Location"), tt.wantLocation)
			}
			var got []string
			got = append(got, e.actions.calls[before:]...)
			var want []string
			if tt.wantCall != "" {
				want = []string{tt.wantCall}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("actions called (-want +got):\n%s", diff)
			}
		})
	}
	if body := e.get(t, operator, "/hosts/esx-02?done=attest").body; !strings.Contains(body, `<p class="flash" role="status">Attestation requested.`) {
		t.Errorf("host page after attest does not say it was requested")
	}
	if body := e.get(t, operator, "/hosts/esx-02?done=%3Cb%3Ehi").body; strings.Contains(body, `class="flash"`) {
		t.Errorf("host page shows a flash for an unknown code")
	}
}

func TestActionFault(t *testing.T) {
	e := newTestEnv(t)
	e.actions.err = errVerifierDown
	op := e.signedIn(t, operatorToken)
	r := e.post(t, op, "/hosts/esx-02/attest", url.Values{"csrf": {csrfOf(t, e.get(t, op, "/hosts/esx-02").body)}})
	if r.code != http.StatusBadGateway || !strings.Contains(r.body, "could not request attestation for host &#34;esx-02&#34;") {
		t.Errorf("attest with the verifier down: status %d, body:\n%s", r.code, r.body)
	}
	if strings.Contains(r.body, errVerifierDown.Error()) {
		t.Errorf("the page shows the internal error")
	}
}

func TestNoActionsConfigured(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Actions = nil })
	op := e.signedIn(t, operatorToken)
	page := e.get(t, op, "/hosts/esx-02").body
	if strings.Contains(page, "Attest now") || strings.Contains(page, "operator token") {
		t.Errorf("host page offers actions the verifier does not have")
	}
	if r := e.post(t, op, "/hosts/esx-02/attest", url.Values{"csrf": {csrfOf(t, page)}}); r.code != 404 {
		t.Errorf("POST attest without Actions: status %d, want 404", r.code)
	}
}
