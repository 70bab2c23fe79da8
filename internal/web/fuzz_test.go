package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRequest sends arbitrary paths, queries, cookies, Authorization
// headers and form bodies to the whole report. Whatever arrives, the report
// must not panic, must not answer 5xx (the fake source never fails), must
// never act without an operator's token and CSRF token, and must keep its
// security headers on every page.
func FuzzRequest(f *testing.F) {
	seeds := []struct{ method, target, cookie, authz, body string }{
		{"GET", "/", "", "Bearer " + viewerToken, ""},
		{"GET", "/?status=Failed&group=lab&q=kvm&sort=since&order=desc&page=1&size=2", "", "Bearer " + viewerToken, ""},
		{"GET", "/hosts/esx-02", "dmlld2VyLXRva2VuLTAxMjM0NTY3ODk", "", ""},
		{"GET", "/hosts/%3Cscript%3E", "", "Bearer " + viewerToken, ""},
		{"GET", "/export.csv?status=N%2FA", "", "Bearer " + viewerToken, ""},
		{"GET", "/export.json?q=%ff", "", "bearer " + viewerToken, ""},
		{"GET", "/events", "!!!", "", ""},
		{"POST", "/signin", "", "", "token=" + viewerToken + "&next=%2F%2Fevil"},
		{"POST", "/hosts/esx-02/attest", "", "Bearer " + viewerToken, "csrf=x"},
		{"POST", "/hosts/esx-02/reference", "b3BlcmF0b3ItdG9rZW4tMDEyMzQ1Njc4OQ", "", "csrf="},
		{"POST", "/signout", "", "", ""},
		{"GET", "/static/report.css", "", "Basic x", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.cookie, s.authz, s.body)
	}
	fx := loadFleet(f)
	f.Fuzz(func(t *testing.T, method, target, cookie, authz, body string) {
		if method != "GET" && method != "POST" {
			method = "GET"
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		src := &fakeSource{hosts: fx.Hosts, latest: fx.Latest}
		acts := &fakeActions{}
		mux := http.NewServeMux()
		if err := Register(mux, Config{Source: src, Actions: boundActions{acts, src}, Auth: testAuth(),
			Now: func() time.Time { return fx.Now }}); err != nil {
			t.Fatal(err)
		}
		// A target that could not be a request line (a space, a control
		// byte) never reaches a handler: net/http refuses it first.
		if strings.ContainsFunc(u.RequestURI(), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return
		}
		req := httptest.NewRequest(method, "http://report.test"+u.RequestURI(), strings.NewReader(body))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookieName+"="+cookie)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d:\n%s", method, target, rec.Code, rec.Body)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") && rec.Code != http.StatusMovedPermanently &&
			rec.Code != http.StatusTemporaryRedirect && rec.Header().Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Fatalf("%s %s: HTML (status %d) without the Content-Security-Policy", method, target, rec.Code)
		}
		if len(acts.calls) > 0 {
			op := authz != "" && strings.Contains(authz, operatorToken)
			if !op {
				t.Fatalf("%s %s acted (%v) without an operator's Bearer token", method, target, acts.calls)
			}
		}
	})
}
