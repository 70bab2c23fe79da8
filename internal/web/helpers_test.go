package web

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tokens the fake Authenticator knows.
const (
	viewerToken   = "viewer-token-0123456789"
	operatorToken = "operator-token-0123456789"
	adminToken    = "admin-token-0123456789"
	guestToken    = "guest-token-0123456789" // a role that may read nothing
)

func testAuth() *fakeAuth {
	return &fakeAuth{tokens: map[string]Principal{
		viewerToken:   {Name: "vera", Role: RoleViewer},
		operatorToken: {Name: "olga", Role: RoleOperator},
		adminToken:    {Name: "adam", Role: RoleAdmin},
		guestToken:    {Name: "gus", Role: "guest"},
	}}
}

// fleetFixture is testdata/fleet.json: a small fleet with one host of each
// status, failures with evidence, and a host whose every field is hostile.
type fleetFixture struct {
	Now    time.Time    `json:"now"`
	Latest time.Time    `json:"latest"`
	Hosts  []HostDetail `json:"hosts"`
}

func loadFleet(tb testing.TB) fleetFixture {
	tb.Helper()
	b, err := os.ReadFile("testdata/fleet.json")
	if err != nil {
		tb.Fatalf("read fleet fixture: %v", err)
	}
	var f fleetFixture
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatalf("parse testdata/fleet.json: %v", err)
	}
	return f
}

const hostileName = "<script>alert('x')</script>"

// testEnv is the report over the fixture fleet on an httptest server.
type testEnv struct {
	srv     *httptest.Server
	src     *fakeSource
	actions *fakeActions
	now     time.Time
}

type envOption func(*Config)

func newTestEnv(tb testing.TB, opts ...envOption) *testEnv {
	tb.Helper()
	fx := loadFleet(tb)
	e := &testEnv{src: &fakeSource{hosts: fx.Hosts, latest: fx.Latest}, actions: &fakeActions{}, now: fx.Now}
	cfg := Config{
		Source:  e.src,
		Actions: boundActions{e.actions, e.src},
		Auth:    testAuth(),
		Now:     func() time.Time { return e.now },
	}
	for _, o := range opts {
		o(&cfg)
	}
	mux := http.NewServeMux()
	if err := Register(mux, cfg); err != nil {
		tb.Fatalf("Register: %v", err)
	}
	e.srv = httptest.NewServer(mux)
	tb.Cleanup(e.srv.Close)
	return e
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so tests see them.
func (e *testEnv) client(tb testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn is a client that signed in with token through the form.
func (e *testEnv) signedIn(tb testing.TB, token string) *http.Client {
	tb.Helper()
	c := e.client(tb)
	resp, err := c.PostForm(e.srv.URL+PathSignIn, url.Values{"token": {token}, "next": {"/"}})
	if err != nil {
		tb.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in with %q: status %d, want 303", token, resp.StatusCode)
	}
	return c
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(tb testing.TB, c *http.Client, req *http.Request) response {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s %s: %v", req.Method, req.URL, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (e *testEnv) get(tb testing.TB, c *http.Client, path string) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, c, req)
}

func (e *testEnv) post(tb testing.TB, c *http.Client, path string, form url.Values) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(tb, c, req)
}

var (
	rowNameRE = regexp.MustCompile(`<tr><th scope="row"><a href="[^"]*">([^<]*)</a></th>`)
	countRE   = regexp.MustCompile(`data-status="([^"]+)"[^>]*><span class="n">(\d+)</span>`)
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	hrefRE    = regexp.MustCompile(`href="([^"]+)"`)
)

// rowNames are the host names in the fleet table, in order, unescaped.
func rowNames(page string) []string {
	var names []string
	for _, m := range rowNameRE.FindAllStringSubmatch(page, -1) {
		names = append(names, html.UnescapeString(m[1]))
	}
	return names
}

// counts are the status counts at the top of the fleet page.
func counts(page string) map[string]string {
	m := map[string]string{}
	for _, c := range countRE.FindAllStringSubmatch(page, -1) {
		m[html.UnescapeString(c[1])] = c[2]
	}
	return m
}

func csrfOf(tb testing.TB, page string) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("no CSRF field in page")
	}
	return html.UnescapeString(m[1])
}

// hrefs are every link target in page, unescaped.
func hrefs(page string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func newServer(tb testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

func tlsServer(tb testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	tb.Cleanup(srv.Close)
	return srv
}
