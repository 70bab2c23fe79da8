package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store/pgtest"
	"github.com/bootproof/bootproof/internal/wire"
)

// Issue #19, hole 4: while the database is sick, the monitoring must tell
// the truth. These tests look at the verifier as its operator does: the
// health endpoints, the metrics, the report page and the API, with the
// admin's own token and browser session.

// storeBanner is what the report says on every page while the verifier
// cannot write its store.
const storeBanner = "the verifier cannot write its store"

// TestDatabaseOnFullDisk fills the real (tmpfs) filesystem of the
// verifier's data folder while a host attests every 2 s: evidence is not
// acknowledged; /readyz says 503 store.unavailable while /healthz stays
// 200; the report carries the banner and shows the host stale, not Passed,
// once its group's limit passed; the last-write metric stops moving while
// bootproof_hosts keeps its counts; the admin's token is never refused
// as invalid. Then the space is freed and all of it recovers by itself.
func TestDatabaseOnFullDisk(t *testing.T) {
	f := newFleetOnSmallDisk(t, 48<<20)
	// The limit (interval × unreachable_after) is 4 s.
	f.attackPolicy(func(p *policy.Policy) { p.Interval, p.UnreachableAfter = 2*time.Second, 2 })
	f.host("steady", "good", f.joinToken("steady", "10m"))
	e := f.newEvil(t, "full", emuhost.Good, 0)
	e.enroll(f.joinToken("full", "10m"))
	e.attestHonestly()
	o := f.operator(t)
	waitHost(t, f, "steady", 20*time.Second, func(h api.Host) bool { return h.Status == "Passed" && !h.Stale })
	o.expectReady(t, true, "")
	w0 := o.lastWrite(t)
	eventually(t, 15*time.Second, func() string {
		if w := o.lastWrite(t); !w.After(w0) {
			return "bootproof_store_last_write_timestamp_seconds does not move while the store is healthy"
		}
		return ""
	})

	filler := fillDisk(t, filepath.Join(f.dir, "data"))
	full := time.Now()
	// SQLite reuses the room its database and WAL files already have, so
	// attestations that need no new pages may still be stored (and
	// rightly acknowledged) on the full disk. Each attempt here carries a
	// log with a unique event (a Failed verdict whose evidence is new to
	// the store), so that it needs new pages: the store runs out of room
	// within a few of them, and from the first refusal on, none is taken.
	acked, attempt := 0, 0
	eventually(t, 60*time.Second, func() string {
		attempt++
		if e.attestNewEvidence(attempt) {
			acked++
			return fmt.Sprintf("%d attestations with new evidence acknowledged on the full disk", acked)
		}
		return ""
	})
	for i := range 3 {
		attempt++
		if e.attestNewEvidence(attempt) {
			t.Errorf("attempt %d after the first refusal: evidence acknowledged while the disk is full", i+1)
		}
	}
	eventually(t, 10*time.Second, func() string { return o.readyProblem(t, false, storeBanner) })
	if code := o.status(t, "/healthz", ""); code != 200 {
		t.Errorf("/healthz = %d while the disk is full: the process still serves, liveness must say so", code)
	}
	// steady's agent keeps trying; nothing is recorded, so past its limit
	// it must be shown stale, in the API and in the report.
	h := waitHost(t, f, "steady", 15*time.Second, func(h api.Host) bool { return h.Stale })
	if h.StaleSince == nil || h.LastAttested == nil || !h.StaleSince.Equal(h.LastAttested.Add(4*time.Second)) {
		t.Errorf("steady stale since %v, want its last attestation %v + 4 s", h.StaleSince, h.LastAttested)
	}
	page := o.page(t, "/", 200)
	if !strings.Contains(page, storeBanner) || !strings.Contains(page, `id="store-banner"`) {
		t.Errorf("the report has no banner while the disk is full:\n%s", page)
	}
	if badge := rowBadge(t, page, "steady"); badge != "Stale" {
		t.Errorf("the report shows steady as %q after its limit passed with nothing recorded, want Stale", badge)
	}
	o.expectMetricsStopped(t, full, 2)
	// The token check only reads, which works on a full disk: the admin's
	// token must keep working, and a write must not be blamed on it.
	if code := o.status(t, "/api/v1/hosts", o.token); code != 200 {
		t.Errorf("admin lists hosts on a full disk: %d, want 200", code)
	}
	if code, body := o.call(t, "POST", "/api/v1/hosts/steady/attest", o.token); code != 503 || body.Code != api.CodeStoreUnavailable {
		t.Errorf("admin asks for an attestation on a full disk: %d %s, want 503 %s", code, body.Code, api.CodeStoreUnavailable)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	// What was acknowledged was stored, and nothing refused was.
	if got := f.recorded("full"); got != 1+acked {
		t.Errorf("full has %d attestations recorded, want 1 + the %d acknowledged on the full disk", got, acked)
	}
	eventually(t, 20*time.Second, func() string { return o.readyProblem(t, true, "") })
	eventually(t, 20*time.Second, func() string {
		if !e.tryAttest() {
			return "evidence is still not acknowledged after the space was freed"
		}
		return ""
	})
	waitHost(t, f, "steady", 20*time.Second, func(h api.Host) bool {
		return h.Status == "Passed" && !h.Stale && h.LastAttested != nil && h.LastAttested.After(freed)
	})
	page = o.page(t, "/", 200)
	if strings.Contains(page, storeBanner) {
		t.Error("the banner stays after the store recovered")
	}
	// Its group has no reference values: the badge also says so
	// ("Passed (Secure Boot only: ...)").
	if badge := rowBadge(t, page, "steady"); !strings.HasPrefix(badge, "Passed") {
		t.Errorf("steady shows %q after it attested again, want Passed", badge)
	}
	if w := o.lastWrite(t); w.Before(freed) {
		t.Errorf("the last-write metric says %v, before the space was freed at %v", w, freed)
	}
}

// TestPostgresDownTokenAndSession stops the verifier's PostgreSQL: the
// admin's valid token gets 503 store.unavailable, never 401 (no client
// may drop a valid token over an outage); a browser signed in to the
// report stays signed in and sees an error page; /readyz says why, and
// /healthz stays 200. When the database is back, both work again.
func TestPostgresDownTokenAndSession(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	t.Cleanup(pgtest.Stop) // runs last: after the database is dropped
	f := newFleet(t, "--db", pgtest.Start(t))
	o := f.operator(t)
	cookie := o.signIn(t)
	if page := o.pageWith(t, "/", cookie, 200); !strings.Contains(page, "Signed in as") {
		t.Fatalf("not signed in after signing in:\n%s", page)
	}

	up := pgtest.Down(t)
	t.Cleanup(up) // before the database is dropped, should the test fail
	eventually(t, 10*time.Second, func() string { return o.readyProblem(t, false, "the verifier cannot read its store") })
	if code := o.status(t, "/healthz", ""); code != 200 {
		t.Errorf("/healthz = %d while PostgreSQL is down, want 200 (the process serves)", code)
	}
	for _, path := range []string{"/api/v1/hosts", "/api/v1/api-tokens", "/api/v1/audit"} {
		code, body := o.call(t, "GET", path, o.token)
		if code != 503 || body.Code != api.CodeStoreUnavailable {
			t.Errorf("GET %s with a valid admin token, PostgreSQL down: %d %q, want 503 %s", path, code, body.Code, api.CodeStoreUnavailable)
		}
	}
	// A token that is not one at all needs no store to be refused.
	if code, body := o.call(t, "GET", "/api/v1/hosts", "not-a-token"); code != 401 {
		t.Errorf("a malformed token, PostgreSQL down: %d %s, want 401", code, body.Code)
	}
	resp := o.get(t, "/", cookie)
	page := readBody(t, resp)
	if resp.StatusCode != 503 || !strings.Contains(page, "You are still signed in") {
		t.Errorf("the report, PostgreSQL down: %d, want 503 saying the user is still signed in:\n%s", resp.StatusCode, page)
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookie.Name && (c.MaxAge < 0 || c.Value == "") {
			t.Errorf("the report signed the browser out while PostgreSQL was down: %s", c)
		}
	}

	up()
	eventually(t, 30*time.Second, func() string {
		if code, body := o.call(t, "GET", "/api/v1/hosts", o.token); code != 200 {
			return fmt.Sprintf("admin token after PostgreSQL came back: %d %s", code, body.Code)
		}
		return o.readyProblem(t, true, "")
	})
	if page := o.pageWith(t, "/", cookie, 200); !strings.Contains(page, "Signed in as") {
		t.Errorf("the browser is not signed in after PostgreSQL came back:\n%s", page)
	}
}

// operator is what the fleet's operator uses: the admin token, a TLS
// client that trusts the verifier's CA and does not follow redirects.
type operator struct {
	f     *fleet
	token string
	http  *http.Client
}

func (f *fleet) operator(t *testing.T) *operator {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(f.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(f.caFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &operator{f: f, token: strings.TrimSpace(string(tok)), http: c}
}

// do sends a request with token as Bearer (if any) and cookie (if any).
func (o *operator) do(t *testing.T, method, path, token string, cookie *http.Cookie, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, o.f.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := o.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (o *operator) status(t *testing.T, path, token string) int {
	t.Helper()
	resp := o.do(t, "GET", path, token, nil, nil)
	readBody(t, resp)
	return resp.StatusCode
}

// call sends an API request and decodes its error body, if any.
func (o *operator) call(t *testing.T, method, path, token string) (int, api.Error) {
	t.Helper()
	resp := o.do(t, method, path, token, nil, nil)
	b := readBody(t, resp)
	var e api.Error
	if resp.StatusCode/100 != 2 {
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			t.Errorf("%s %s: %d with a body that is not an API error: %q", method, path, resp.StatusCode, b)
		}
	}
	if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s %s: 503 without Retry-After", method, path)
	}
	return resp.StatusCode, e
}

// readyProblem checks /readyz: ready, or 503 store.unavailable with the
// reason problem. It returns what differs, "" when nothing does.
func (o *operator) readyProblem(t *testing.T, ready bool, problem string) string {
	t.Helper()
	resp := o.do(t, "GET", "/readyz", "", nil, nil)
	b := readBody(t, resp)
	var r api.Readiness
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		return fmt.Sprintf("/readyz %d: %q is not a readiness report: %v", resp.StatusCode, b, err)
	}
	want := api.Readiness{Status: "ok"}
	wantCode := 200
	if !ready {
		want = api.Readiness{Status: "unavailable", Code: api.CodeStoreUnavailable, Reason: problem}
		wantCode = 503
	}
	if resp.StatusCode != wantCode || r.Status != want.Status || r.Code != want.Code || r.Reason != want.Reason {
		return fmt.Sprintf("/readyz = %d %+v, want %d %+v", resp.StatusCode, r, wantCode, want)
	}
	return ""
}

func (o *operator) expectReady(t *testing.T, ready bool, problem string) {
	t.Helper()
	if msg := o.readyProblem(t, ready, problem); msg != "" {
		t.Error(msg)
	}
}

// page GETs a report page with the admin token and wants status code.
func (o *operator) page(t *testing.T, path string, code int) string {
	t.Helper()
	resp := o.do(t, "GET", path, o.token, nil, nil)
	body := readBody(t, resp)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d, want %d:\n%s", path, resp.StatusCode, code, body)
	}
	return body
}

// pageWith is page for a browser signed in with cookie.
func (o *operator) pageWith(t *testing.T, path string, cookie *http.Cookie, code int) string {
	t.Helper()
	resp := o.get(t, path, cookie)
	body := readBody(t, resp)
	if resp.StatusCode != code {
		t.Fatalf("GET %s signed in: %d (Location %q), want %d:\n%s", path, resp.StatusCode, resp.Header.Get("Location"), code, body)
	}
	return body
}

func (o *operator) get(t *testing.T, path string, cookie *http.Cookie) *http.Response {
	t.Helper()
	return o.do(t, "GET", path, "", cookie, nil)
}

// signIn signs in to the report with the admin token, as the sign-in
// form does, and returns the session cookie.
func (o *operator) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	form := url.Values{"token": {o.token}, "next": {"/"}}
	resp := o.do(t, "POST", "/signin", "", nil, strings.NewReader(form.Encode()))
	readBody(t, resp)
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in answered %d without a session cookie", resp.StatusCode)
	return nil
}

// rowBadge is the status badge the fleet page shows for host.
func rowBadge(t *testing.T, page, host string) string {
	t.Helper()
	re := regexp.MustCompile(`<tr><th scope="row"><a href="/hosts/` + regexp.QuoteMeta(host) + `">[^<]*</a></th>.*?<span class="badge [^"]*">([^<]*)</span>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no row for %s on the fleet page:\n%s", host, page)
	}
	return m[1]
}

// metrics scrapes /metrics into the Prometheus client's own types.
func (o *operator) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp := o.do(t, "GET", "/metrics", o.token, nil, nil)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mf
}

// lastWrite is bootproof_store_last_write_timestamp_seconds.
func (o *operator) lastWrite(t *testing.T) time.Time {
	t.Helper()
	mf := o.metrics(t)["bootproof_store_last_write_timestamp_seconds"]
	if mf == nil || len(mf.Metric) != 1 {
		t.Fatal("no bootproof_store_last_write_timestamp_seconds")
	}
	return time.Unix(0, int64(mf.Metric[0].GetGauge().GetValue()*1e9))
}

// expectMetricsStopped checks, over two sweeps, that the last-write
// metric stands still while the disk is full, and that bootproof_hosts
// still counts the fleet: counting only reads, so it goes on (every 30 s)
// on a full disk, and bootproof_hosts_counted_timestamp_seconds says when.
func (o *operator) expectMetricsStopped(t *testing.T, full time.Time, fleet int) {
	t.Helper()
	w1 := o.lastWrite(t)
	time.Sleep(11 * time.Second)
	if w2 := o.lastWrite(t); !w2.Equal(w1) {
		t.Errorf("bootproof_store_last_write_timestamp_seconds moved from %v to %v on a full disk", w1, w2)
	}
	eventually(t, 40*time.Second, func() string {
		mf := o.metrics(t)
		c := mf["bootproof_hosts_counted_timestamp_seconds"]
		if c == nil || len(c.GetMetric()) != 1 {
			return "no bootproof_hosts_counted_timestamp_seconds: the counts' age is not said"
		}
		if at := time.Unix(0, int64(c.GetMetric()[0].GetGauge().GetValue()*1e9)); at.Before(full) {
			return fmt.Sprintf("bootproof_hosts last counted at %v, before the disk was full at %v", at, full)
		}
		total := 0.0
		for _, m := range mf["bootproof_hosts"].GetMetric() {
			total += m.GetGauge().GetValue()
		}
		if total != float64(fleet) {
			t.Errorf("bootproof_hosts counts %v hosts in all on a full disk, want the %d enrolled", total, fleet)
		}
		return ""
	})
}

// waitHost polls the API until host satisfies ok and returns it.
func waitHost(t *testing.T, f *fleet, name string, limit time.Duration, ok func(api.Host) bool) api.Host {
	t.Helper()
	var h api.Host
	eventually(t, limit, func() string {
		var err error
		if h, err = f.get(name); err != nil || !ok(h) {
			return fmt.Sprintf("%s is %s (stale %v, last attested %v, err %v)", name, h.Status, h.Stale, h.LastAttested, err)
		}
		return ""
	})
	return h
}

// fillDisk writes a file in dir until its filesystem is full, and returns
// its path.
// attestNewEvidence attests with a log that carries one more, unique 256
// KiB event (the quote does not cover it: the verdict is Failed, and its
// evidence is new to the store). It returns true when the verifier
// acknowledged it and false when the store refused it (a 5xx); a refusal
// for any other reason (429: the host's share) is waited out and tried
// again, and anything else fails the test, so that only the store's
// refusal counts as one.
func (e *evil) attestNewEvidence(i int) (acked bool) {
	e.t.Helper()
	for range 20 {
		var n wire.NonceResponse
		a := e.call(e.http, "GET", "/agent/v1/nonce", nil, &n)
		if a.Status == http.StatusOK {
			ev := e.evidence(n.Nonce)
			ev.EventLog = uniqueLog(e.t, e.boot.EventLog, i, len(e.boot.EventLog)+256<<10)
			var res wire.EvidenceResult
			a = e.call(e.http, "POST", "/agent/v1/evidence", ev, &res)
			if a.Status == http.StatusOK {
				return true
			}
		}
		switch {
		case a.Status >= 500:
			return false
		case a.Status == http.StatusTooManyRequests:
			time.Sleep(time.Second)
		default:
			e.t.Fatalf("attestation %d on the full disk: %v, want 200 or a refusal by the store (5xx)", i, a)
		}
	}
	e.t.Fatalf("attestation %d: still refused for the host's share after 20 tries", i)
	return false
}

func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	// Large writes first, then page-sized ones for what they left.
	for _, size := range []int{1 << 20, 4 << 10} {
		chunk := make([]byte, size)
		for {
			_, err := fh.Write(chunk)
			if err == nil {
				continue
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bavail != 0 {
		t.Fatalf("the disk is not full after filling: %d blocks free, %v", st.Bavail, err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}
