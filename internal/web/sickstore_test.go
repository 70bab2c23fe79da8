package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sickAuth is testAuth whose every check fails with ErrUnavailable while
// down is set: the verifier cannot read its store.
type sickAuth struct {
	*fakeAuth
	down atomic.Bool
}

func (a *sickAuth) Authenticate(ctx context.Context, token string) (Principal, error) {
	if a.down.Load() {
		return Principal{}, fmt.Errorf("look up token: connection refused: %w", ErrUnavailable)
	}
	return a.fakeAuth.Authenticate(ctx, token)
}

// TestStoreDownKeepsSignIn: while sign-ins cannot be checked, a signed-in
// browser gets a 503 page that says it is still signed in, its cookie is
// kept (not cleared as for a revoked token), scripts get 503 with
// Retry-After, and the same browser reads the report once the store is
// back.
func TestStoreDownKeepsSignIn(t *testing.T) {
	a := &sickAuth{fakeAuth: testAuth()}
	e := newTestEnv(t, func(c *Config) { c.Auth = a })
	c := e.signedIn(t, viewerToken)
	a.down.Store(true)
	r := e.get(t, c, "/")
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "You are still signed in") {
		t.Errorf("fleet page, store down: %d, want 503 saying the user is still signed in:\n%s", r.code, r.body)
	}
	if sc := r.header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("the report changed the sign-in cookie while the store was down: %q", sc)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("503 page without Retry-After")
	}
	if r := e.get(t, c, PathExportCSV); r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("export, store down: %d %q, want 503 with Retry-After", r.code, r.body)
	}
	a.down.Store(false)
	if r := e.get(t, c, "/"); r.code != http.StatusOK || !strings.Contains(r.body, "Signed in as vera") {
		t.Errorf("fleet page, store back: %d, want the report for the same browser:\n%s", r.code, r.body)
	}
}

// TestStoreBannerAndStaleHost: while the store cannot be written every
// page says since when its data dates, and a Passed host past its group's
// limit shows as Stale with its last status in the reason, on the fleet
// page and its own page.
func TestStoreBannerAndStaleHost(t *testing.T) {
	var writable atomic.Bool
	var e *testEnv
	e = newTestEnv(t, func(c *Config) {
		c.Store = func(context.Context) StoreState {
			return StoreState{Writable: writable.Load(), Problem: "the verifier cannot write its store",
				LastWrite: e.now.Add(-10 * time.Minute)}
		}
	})
	e.src.hosts[0].StaleSince = e.now.Add(-5 * time.Minute) // esx-01, Passed
	c := e.signedIn(t, viewerToken)
	fleet := e.get(t, c, "/").body
	banner := "Data as of <time datetime=\"2026-01-15T11:50:00Z\">2026-01-15T11:50:00Z</time> <span class=\"rel\">(10 min ago)</span>: the verifier cannot write its store."
	if !strings.Contains(fleet, banner) {
		t.Errorf("no banner on the fleet page:\n%s", fleet)
	}
	row := regexp.MustCompile(`<tr><th scope="row"><a href="/hosts/esx-01">esx-01</a></th>.*</tr>`).FindString(fleet)
	if !strings.Contains(row, `<span class="badge st-stale">Stale</span>`) || strings.Contains(row, ">Passed<") ||
		!strings.Contains(row, "limit ran out 5 min ago; last recorded status Passed") {
		t.Errorf("esx-01 past its limit is not shown stale: %s", row)
	}
	host := e.get(t, c, "/hosts/esx-01").body
	if !strings.Contains(host, `<span class="badge st-stale">Stale</span></h1>`) || !strings.Contains(host, banner) {
		t.Errorf("host page of a stale host:\n%s", host)
	}
	writable.Store(true)
	if fleet := e.get(t, c, "/").body; strings.Contains(fleet, "cannot write its store") {
		t.Error("banner shown while the store is writable")
	}
}
