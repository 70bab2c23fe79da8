package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestUnauthenticatedRequests(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name, method, path, bearer string
		wantCode                   int
		wantLocation               string // for redirects
		wantBody                   string
	}{
		{name: "fleet page sends to sign-in", method: "GET", path: "/?status=Failed", wantCode: 303, wantLocation: "/signin?next=%2F%3Fstatus%3DFailed"},
		{name: "host page sends to sign-in", method: "GET", path: "/hosts/esx-02", wantCode: 303, wantLocation: "/signin?next=%2Fhosts%2Fesx-02"},
		{name: "csv export is 401", method: "GET", path: "/export.csv", wantCode: 401, wantBody: "401 unauthorized"},
		{name: "json export is 401", method: "GET", path: "/export.json", wantCode: 401, wantBody: "401 unauthorized"},
		{name: "events is 401", method: "GET", path: "/events", wantCode: 401},
		{name: "unknown bearer on a page is 401", method: "GET", path: "/", bearer: "nope", wantCode: 401, wantBody: "does not hold a valid API token"},
		{name: "unknown bearer on export is 401", method: "GET", path: "/export.csv", bearer: "nope", wantCode: 401},
		{name: "role that may read nothing is 401", method: "GET", path: "/export.json", bearer: guestToken, wantCode: 401},
		{name: "action without token goes to sign-in", method: "POST", path: "/hosts/esx-02/attest", wantCode: 303, wantLocation: "/signin?next=%2F"},
		{name: "static assets need no token", method: "GET", path: "/static/report.css", wantCode: 200},
		{name: "sign-in page needs no token", method: "GET", path: "/signin", wantCode: 200, wantBody: `<label for="token">API token</label>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			r := do(t, e.client(t), req)
			if r.code != tt.wantCode {
				t.Fatalf("%s %s: status %d, want %d; body:\n%s", tt.method, tt.path, r.code, tt.wantCode, r.body)
			}
			if got := r.header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, r.body)
			}
			if strings.Contains(r.body, "digest is not in the group") {
				t.Errorf("a refused request shows fleet data:\n%s", r.body)
			}
		})
	}
}

func TestSignIn(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name, token, next string
		wantCode          int
		wantLocation      string
		wantBody          string
		wantCookie        bool
	}{
		{name: "viewer token", token: viewerToken, next: "/?status=Failed", wantCode: 303, wantLocation: "/?status=Failed", wantCookie: true},
		{name: "token with spaces around it", token: "  " + operatorToken + "\n", next: "/hosts/esx-01", wantCode: 303, wantLocation: "/hosts/esx-01", wantCookie: true},
		{name: "next elsewhere is ignored", token: viewerToken, next: "//evil.example/", wantCode: 303, wantLocation: "/", wantCookie: true},
		{name: "next absolute URL is ignored", token: viewerToken, next: "https://evil.example/", wantCode: 303, wantLocation: "/", wantCookie: true},
		{name: "next with backslash is ignored", token: viewerToken, next: "/\\evil.example", wantCode: 303, wantLocation: "/", wantCookie: true},
		{name: "unknown token", token: "wrong", wantCode: 401, wantBody: "That token is not valid"},
		{name: "role that may not read", token: guestToken, wantCode: 401, wantBody: "That token is not valid"},
		{name: "empty token", token: "   ", wantCode: 400, wantBody: "Enter an API token."},
		{name: "huge token", token: strings.Repeat("x", maxTokenLen+1), wantCode: 400, wantBody: "longer than any API token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, e.client(t), PathSignIn, url.Values{"token": {tt.token}, "next": {tt.next}})
			if r.code != tt.wantCode {
				t.Fatalf("status %d, want %d; body:\n%s", r.code, tt.wantCode, r.body)
			}
			if got := r.header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, r.body)
			}
			sc := r.header.Get("Set-Cookie")
			if got := sc != ""; got != tt.wantCookie {
				t.Fatalf("Set-Cookie = %q, want a cookie: %v", sc, tt.wantCookie)
			}
			if tt.wantCookie {
				for _, attr := range []string{cookieName + "=", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age="} {
					if !strings.Contains(sc, attr) {
						t.Errorf("Set-Cookie %q lacks %q", sc, attr)
					}
				}
				if strings.Contains(sc, "Secure") {
					t.Errorf("Set-Cookie %q is Secure over plain HTTP; the browser would drop it", sc)
				}
				if strings.Contains(sc, strings.TrimSpace(tt.token)) {
					t.Errorf("Set-Cookie %q holds the raw token; want it encoded", sc)
				}
			}
		})
	}
}

func TestSignInCookieIsSecureOverTLS(t *testing.T) {
	e := newTestEnv(t)
	tls := e.srv // reuse the handler on a TLS server
	srv := tlsServer(t, tls.Config.Handler)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(srv.URL+PathSignIn, url.Values{"token": {viewerToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie over TLS = %q, want Secure", sc)
	}
}

func TestSignOut(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	page := e.get(t, c, "/")
	if page.code != 200 {
		t.Fatalf("fleet page after sign-in: status %d", page.code)
	}
	if r := e.post(t, c, PathSignOut, url.Values{"csrf": {"forged"}}); r.code != http.StatusForbidden {
		t.Fatalf("sign-out with a forged CSRF token: status %d, want 403", r.code)
	}
	r := e.post(t, c, PathSignOut, url.Values{"csrf": {csrfOf(t, page.body)}})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != PathSignIn {
		t.Fatalf("sign-out: status %d to %q, want 303 to %s", r.code, r.header.Get("Location"), PathSignIn)
	}
	if r := e.get(t, c, "/"); r.code != http.StatusSeeOther {
		t.Errorf("fleet page after sign-out: status %d, want 303 to sign-in", r.code)
	}
}

func TestRevokedCookieIsCleared(t *testing.T) {
	e := newTestEnv(t)
	auth := testAuth()
	mux := http.NewServeMux()
	if err := Register(mux, Config{Source: e.src, Auth: auth}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, mux)
	c := e.client(t)
	if resp, err := c.PostForm(srv.URL+PathSignIn, url.Values{"token": {viewerToken}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	delete(auth.tokens, viewerToken) // an admin revoked it
	resp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fleet page with a revoked token: status %d, want 303", resp.StatusCode)
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("Set-Cookie = %q, want the cookie cleared", sc)
	}
}

func TestBearerToken(t *testing.T) {
	e := newTestEnv(t)
	for _, h := range []string{"Bearer " + viewerToken, "bearer " + viewerToken, "BEARER  " + viewerToken} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/export.json", nil)
		req.Header.Set("Authorization", h)
		if r := do(t, e.client(t), req); r.code != 200 {
			t.Errorf("Authorization %q: status %d, want 200", h, r.code)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/export.json", nil)
	req.Header.Set("Authorization", "Basic dmVyYTpwdw==")
	if r := do(t, e.client(t), req); r.code != 401 {
		t.Errorf("Basic authorization: status %d, want 401", r.code)
	}
}

func TestAuthenticatorFault(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Auth = &fakeAuth{err: errVerifierDown} })
	for _, path := range []string{"/", "/export.csv"} {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+viewerToken)
		r := do(t, e.client(t), req)
		if r.code != http.StatusInternalServerError {
			t.Errorf("GET %s with the authenticator down: status %d, want 500", path, r.code)
		}
		if strings.Contains(r.body, errVerifierDown.Error()) {
			t.Errorf("GET %s shows the internal error to the user:\n%s", path, r.body)
		}
	}
	r := e.post(t, e.client(t), PathSignIn, url.Values{"token": {viewerToken}})
	if r.code != http.StatusInternalServerError || !strings.Contains(r.body, "could not check the token") {
		t.Errorf("sign-in with the authenticator down: status %d, body:\n%s", r.code, r.body)
	}
}

func TestAuthDisabled(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthDisabled = true })
	anon := e.client(t)
	r := e.get(t, anon, "/")
	if r.code != 200 {
		t.Fatalf("fleet page without a token in demo mode: status %d, want 200", r.code)
	}
	if !strings.Contains(r.body, "Signed in as anonymous (viewer)") || !strings.Contains(r.body, `<a href="/signin">Sign in</a>`) {
		t.Errorf("demo fleet page does not say who reads it or offer sign-in")
	}
	host := e.get(t, anon, "/hosts/esx-02")
	if strings.Contains(host.body, "Attest now") {
		t.Errorf("anonymous reader sees the operator's buttons")
	}
	if r := e.post(t, anon, "/hosts/esx-02/attest", nil); r.code != http.StatusForbidden {
		t.Errorf("anonymous POST attest: status %d, want 403", r.code)
	}
	op := e.signedIn(t, operatorToken)
	if body := e.get(t, op, "/hosts/esx-02").body; !strings.Contains(body, "Attest now") {
		t.Errorf("operator signed in on a demo does not see the buttons")
	}
}

func TestRegisterRejectsBadConfig(t *testing.T) {
	err := Register(http.NewServeMux(), Config{PollInterval: -1})
	if err == nil {
		t.Fatal("Register with an empty Config: no error")
	}
	for _, want := range []string{"Source is nil", "Auth is nil", "PollInterval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	tests := map[string]string{
		"":                     "/",
		"/":                    "/",
		"/hosts/a?x=1":         "/hosts/a?x=1",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"/a\r\nSet-Cookie: x":  "/",
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
