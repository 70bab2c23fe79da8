package web

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFleetPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	tests := []struct {
		name       string
		query      string
		wantCounts map[string]string
		wantRows   []string
		wantBody   []string
	}{
		{
			name:       "whole fleet, worst first",
			query:      "",
			wantCounts: map[string]string{"Passed": "1", "Failed": "3", "N/A": "1", "Unreachable": "1", "Pending": "1"},
			wantRows:   []string{hostileName, "esx-02", "kvm-06", "esx-04", "kvm-05", "esx-03", "esx-01"},
			wantBody:   []string{"7 hosts.", "Hosts <span id=\"range\" class=\"range\">1–7 of 7</span>"},
		},
		{
			name:       "only failed",
			query:      "?status=Failed",
			wantCounts: map[string]string{"Passed": "1", "Failed": "3", "N/A": "1", "Unreachable": "1", "Pending": "1"},
			wantRows:   []string{hostileName, "esx-02", "kvm-06"},
			wantBody:   []string{`aria-current="true"`, "The kernel&#39;s digest is not in the group&#39;s reference values.", "Clear filters"},
		},
		{
			name:       "status is matched without case",
			query:      "?status=failed",
			wantCounts: map[string]string{"Passed": "1", "Failed": "3", "N/A": "1", "Unreachable": "1", "Pending": "1"},
			wantRows:   []string{hostileName, "esx-02", "kvm-06"},
		},
		{
			name:       "group: counts cover the group",
			query:      "?group=lab",
			wantCounts: map[string]string{"Passed": "0", "Failed": "1", "N/A": "0", "Unreachable": "0", "Pending": "1"},
			wantRows:   []string{"kvm-06", "kvm-05"},
			wantBody:   []string{`<option value="lab" selected>lab</option>`},
		},
		{
			name:       "search by name, any case",
			query:      "?q=ESX-0",
			wantCounts: map[string]string{"Passed": "1", "Failed": "1", "N/A": "1", "Unreachable": "1", "Pending": "0"},
			wantRows:   []string{"esx-02", "esx-04", "esx-03", "esx-01"},
			wantBody:   []string{`name="q" value="ESX-0"`},
		},
		{
			name:     "sort by name",
			query:    "?sort=name",
			wantRows: []string{hostileName, "esx-01", "esx-02", "esx-03", "esx-04", "kvm-05", "kvm-06"},
			wantBody: []string{`aria-sort="ascending"`, `<input type="hidden" name="sort" value="name">`},
		},
		{
			name:     "sort by name descending",
			query:    "?sort=name&order=desc",
			wantRows: []string{"kvm-06", "kvm-05", "esx-04", "esx-03", "esx-02", "esx-01", hostileName},
			wantBody: []string{`aria-sort="descending"`, `<input type="hidden" name="order" value="desc">`},
		},
		{
			name:     "sort by last attested: never first",
			query:    "?sort=attested",
			wantRows: []string{"esx-03", "kvm-05", "esx-04", hostileName, "kvm-06", "esx-01", "esx-02"},
		},
		{
			name:     "second page of two",
			query:    "?sort=name&size=3&page=2",
			wantRows: []string{"esx-03", "esx-04", "kvm-05"},
			wantBody: []string{"4–6 of 7", "Page 2 of 3", `rel="prev"`, `rel="next"`},
		},
		{
			name:     "page past the end",
			query:    "?page=9",
			wantRows: nil,
			wantBody: []string{"No hosts match on page 9.", "none of 7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, c, "/"+tt.query)
			if r.code != 200 {
				t.Fatalf("GET /%s: status %d; body:\n%s", tt.query, r.code, r.body)
			}
			if tt.wantCounts != nil {
				if diff := cmp.Diff(tt.wantCounts, counts(r.body)); diff != "" {
					t.Errorf("counts (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantRows, rowNames(r.body)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

// Every link on a filtered fleet page keeps the filter, except the ones
// meant to change it.
func TestFleetLinksKeepFilter(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	for _, n := range []string{"esx-10", "esx-11"} {
		e.src.hosts = append(e.src.hosts, HostDetail{HostRow: HostRow{Name: n, Group: "prod-a", Status: StatusFailed}})
	}
	r := e.get(t, c, "/?status=Failed&group=prod-a&q=esx&sort=name&order=desc&size=1&page=2")
	var sortLinks, pageLinks, exports int
	for _, m := range sortHrefRE.FindAllStringSubmatch(r.body, -1) {
		sortLinks++
		v, err := url.ParseQuery(strings.TrimPrefix(html.UnescapeString(m[1]), "/?"))
		if err != nil {
			t.Fatal(err)
		}
		if v.Get("status") != "Failed" || v.Get("group") != "prod-a" || v.Get("q") != "esx" || v.Get("size") != "1" || v.Get("page") != "" {
			t.Errorf("sort link %q loses the filter or keeps the page", m[1])
		}
	}
	for _, h := range hrefs(r.body) {
		u, err := url.Parse(h)
		if err != nil {
			t.Fatalf("page has an unparsable link %q: %v", h, err)
		}
		v := u.Query()
		switch {
		case u.Path == "/" && v.Get("page") != "":
			pageLinks++
			if v.Get("status") != "Failed" || v.Get("group") != "prod-a" || v.Get("sort") != "name" || v.Get("order") != "desc" || v.Get("size") != "1" {
				t.Errorf("page link %q loses the filter or order", h)
			}
		case u.Path == PathExportCSV || u.Path == PathExportJSON:
			exports++
			if v.Get("status") != "Failed" || v.Get("group") != "prod-a" || v.Get("q") != "esx" || v.Get("page") != "" {
				t.Errorf("export link %q does not carry the filter (or carries a page)", h)
			}
		}
	}
	if sortLinks != len(SortColumns) || exports != 2 || pageLinks != 2 {
		t.Errorf("found %d sort links, %d page links and %d export links, want %d, 2 and 2", sortLinks, pageLinks, exports, len(SortColumns))
	}
	// Re-clicking the current sort column reverses it.
	if !strings.Contains(r.body, `href="/?group=prod-a&amp;q=esx&amp;size=1&amp;sort=name&amp;status=Failed"`) {
		t.Errorf("the Host column of a name-descending page does not link to name-ascending")
	}
}

var sortHrefRE = regexp.MustCompile(`<th scope="col"[^>]*><a href="([^"]+)"`)

func TestFleetPageBadQuery(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	tests := []struct{ query, want string }{
		{"?status=Broken", `query parameter &#34;status&#34;: unknown status &#34;Broken&#34;`},
		{"?sort=color", `query parameter &#34;sort&#34;: unknown column &#34;color&#34;`},
		{"?order=up", `query parameter &#34;order&#34;`},
		{"?page=0", `query parameter &#34;page&#34;: &#34;0&#34; is not a whole number from 1 to 1000000`},
		{"?size=100000", `query parameter &#34;size&#34;`},
		{"?q=" + strings.Repeat("a", 300), `query parameter &#34;q&#34;: 300 bytes`},
		{"?group=%ff", `query parameter &#34;group&#34;: not valid UTF-8`},
	}
	for _, tt := range tests {
		r := e.get(t, c, "/"+tt.query)
		if r.code != 400 {
			t.Errorf("GET /%.40s: status %d, want 400", tt.query, r.code)
		}
		if !strings.Contains(r.body, tt.want) {
			t.Errorf("GET /%.40s: page does not say %q:\n%s", tt.query, tt.want, r.body)
		}
	}
}

func TestSourceFault(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	e.src.err = errVerifierDown
	for _, path := range []string{"/", "/hosts/esx-01", "/export.csv", "/export.json", "/events"} {
		r := e.get(t, c, path)
		if r.code != 500 {
			t.Errorf("GET %s with the source down: status %d, want 500", path, r.code)
		}
		if strings.Contains(r.body, errVerifierDown.Error()) {
			t.Errorf("GET %s shows the internal error to the user", path)
		}
	}
}

func TestEvents(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	r := e.get(t, c, PathEvents)
	if want := `{"latest":"2026-01-15T11:59:00Z"}` + "\n"; r.code != 200 || r.body != want {
		t.Fatalf("GET /events = %d %q, want 200 %q", r.code, r.body, want)
	}
	e.src.setStatus("esx-01", StatusFailed, "The boot loader is unknown.", e.now.Add(1500*1000))
	r = e.get(t, c, PathEvents)
	if want := `{"latest":"2026-01-15T12:00:00.0015Z"}` + "\n"; r.body != want {
		t.Errorf("GET /events after a change = %q, want %q", r.body, want)
	}
	page := e.get(t, c, "/")
	if !strings.Contains(page.body, `data-latest="2026-01-15T12:00:00.0015Z"`) {
		t.Errorf("fleet page does not carry the latest change for the live update script")
	}
	if got := counts(page.body)["Failed"]; got != "4" {
		t.Errorf("Failed count after a change = %s, want 4", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	for _, path := range []string{"/", "/hosts/esx-02", "/hosts/nope", "/signin", "/export.csv", "/static/report.js", "/?status=bad"} {
		r := e.get(t, c, path)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: missing nosniff or frame denial", path)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)
	tests := []struct {
		path, wantType string
		wantCode       int
	}{
		{"/static/report.css", "text/css", 200},
		{"/static/report.js", "text/javascript", 200},
		{"/static/favicon.svg", "image/svg+xml", 200},
		{"/static/", "", 404},
		{"/static/nope.js", "", 404},
	}
	for _, tt := range tests {
		r := e.get(t, c, tt.path)
		if r.code != tt.wantCode || !strings.HasPrefix(r.header.Get("Content-Type"), tt.wantType) {
			t.Errorf("GET %s = %d %q, want %d %q", tt.path, r.code, r.header.Get("Content-Type"), tt.wantCode, tt.wantType)
		}
	}
	page := e.get(t, e.signedIn(t, viewerToken), "/").body
	for _, h := range hrefs(page) {
		if strings.HasPrefix(h, "http") {
			t.Errorf("page links outside the verifier: %q", h)
		}
	}
	if strings.Contains(page, "src=\"http") || strings.Contains(page, "style=") {
		t.Errorf("page loads an outside asset or uses an inline style (blocked by the CSP)")
	}
}
