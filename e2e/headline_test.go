package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/demo"
	"github.com/bootproof/bootproof/internal/gate"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
)

// headline is the first reason of one host as a surface shows it.
type headline struct{ status, code, reason string }

// surface is one place an operator reads a host's first reason from.
type surface struct {
	name string
	read func(t *testing.T) map[string]headline
	// failedSentenceOnly: the surface has a sentence of its own for hosts
	// that are not Failed (placement), so only Failed hosts' sentences
	// must be the headline's.
	failedSentenceOnly bool
}

// TestOneHeadlineEverywhere runs one host of every demo profile (named as
// the demo names them) and checks that `bootproof report` (table, json,
// csv), `hosts list`, the web report (fleet table and host page),
// webhooks, trust tokens and the placement gate show each host's one
// stored first reason, the ranked one, and that README.md's demo table
// says what the demo shows.
func TestOneHeadlineEverywhere(t *testing.T) {
	hooks := newHookReceiver(t)
	f := newFleet(t, "--webhook", hooks.url+"/hook=headline-secret")
	names := f.startDemoProfiles(t)
	env := f.cliEnv(t)
	want := storedHeadlines(t, env)
	for _, n := range names {
		if w, h := wantStatus[profileOf(n)], want[n]; h.status != w.status || h.code != w.code {
			t.Errorf("%s: stored headline %s %q (%s), want %s %q (the ranked first reason)", n, h.status, h.code, h.reason, w.status, w.code)
		}
	}
	for _, s := range f.headlineSurfaces(t, env, hooks, names) {
		t.Run(s.name, func(t *testing.T) { compareHeadlines(t, s, names, want) })
	}
	checkReadmeDemoTable(t, want)
}

func compareHeadlines(t *testing.T, s surface, names []string, want map[string]headline) {
	got := s.read(t)
	for _, n := range names {
		w, g := want[n], got[n]
		if g.code != w.code {
			t.Errorf("%s: %s shows reason code %q, hosts list %q", n, s.name, g.code, w.code)
		}
		if s.failedSentenceOnly && w.status != "Failed" {
			continue
		}
		if g.reason != w.reason {
			t.Errorf("%s: %s shows the reason %q, hosts list %q", n, s.name, g.reason, w.reason)
		}
	}
}

func profileOf(name string) string { return name[len("esx-NN-"):] }

// startDemoProfiles starts the demo's first ten hosts (a golden host, then
// one of every profile) as the demo does: the golden host first, its boot
// learned as the group's references, then the rest. It returns their
// names once every one has its verdict.
func (f *fleet) startDemoProfiles(t *testing.T) []string {
	var names []string
	for i, m := range demo.Fleet(10) {
		names = append(names, m.Name)
		f.host(m.Name, string(m.Profile), f.joinToken(m.Name, "10m"))
		if i == 0 {
			f.learnFrom(t, m.Name)
		}
	}
	eventually(t, 90*time.Second, func() string {
		for _, n := range names {
			h, err := f.get(n)
			if w := wantStatus[profileOf(n)]; err != nil || h.Status != w.status {
				return fmt.Sprintf("%s is %s (%v), want %s", n, h.Status, err, w.status)
			}
		}
		return ""
	})
	return names
}

// learnFrom takes host's first boot as the group's references, as an
// operator would from a golden host.
func (f *fleet) learnFrom(t *testing.T, host string) {
	eventually(t, 30*time.Second, func() string {
		if h, err := f.get(host); err != nil || h.LastAttested == nil {
			return host + " has not attested"
		}
		return ""
	})
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/groups/lab/learn", map[string]string{"host": host}, nil); err != nil {
		t.Fatalf("learn from %s: %v", host, err)
	}
}

func (f *fleet) cliEnv(t *testing.T) []string {
	return []string{"BOOTPROOF_URL=" + f.url, "BOOTPROOF_TOKEN=" + adminToken(t, f), "BOOTPROOF_CA=" + f.caFile()}
}

// storedHeadlines is what `hosts list --json` says: the stored record's
// reason code and sentence, which every other surface must repeat.
func storedHeadlines(t *testing.T, env []string) map[string]headline {
	var page api.Page[api.Host]
	decodeCLI(t, env, &page, "hosts", "list", "--json")
	out := map[string]headline{}
	for _, h := range page.Items {
		out[h.Name] = headline{h.Status, h.ReasonCode, h.Reason}
	}
	return out
}

// decodeCLI runs a bootproof command and decodes its JSON output strictly.
func decodeCLI(t *testing.T, env []string, out any, args ...string) {
	t.Helper()
	stdout := mustCLI(t, env, args...)
	if err := strictJSON([]byte(stdout), out); err != nil {
		t.Fatalf("bootproof %s: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("bootproof %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// hookReceiver is a webhook receiver over TLS; the verifier trusts its
// certificate through SSL_CERT_FILE, as it would a real receiver's CA.
type hookReceiver struct {
	url    string
	mu     sync.Mutex
	events []verifier.StatusEvent
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev verifier.StatusEvent
		if err := json.NewDecoder(req.Body).Decode(&ev); err != nil {
			t.Errorf("webhook body is not a status event: %v", err)
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "receiver.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", ca)
	r.url = srv.URL
	return r
}

// latest is each host's newest status change as the receiver got it.
func (r *hookReceiver) latest() map[string]verifier.StatusEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]verifier.StatusEvent{}
	for _, ev := range r.events {
		if old, ok := out[ev.Host]; !ok || !ev.At.Before(old.At) {
			out[ev.Host] = ev
		}
	}
	return out
}

// headlineSurfaces lists every surface with how to read it.
func (f *fleet) headlineSurfaces(t *testing.T, env []string, hooks *hookReceiver, names []string) []surface {
	return []surface{
		{name: "hosts list table", read: func(t *testing.T) map[string]headline {
			return tableReasons(t, mustCLI(t, env, "hosts", "list"), hostsListRow)
		}},
		{name: "report table", read: func(t *testing.T) map[string]headline {
			return tableReasons(t, mustCLI(t, env, "report"), reportTableRow)
		}},
		{name: "report json", read: func(t *testing.T) map[string]headline { return reportJSON(t, env) }},
		{name: "report csv", read: func(t *testing.T) map[string]headline {
			return reportCSV(t, mustCLI(t, env, "report", "--format", "csv"))
		}},
		{name: "web fleet page", read: func(t *testing.T) map[string]headline { return f.webFleet(t) }},
		{name: "web host page", read: func(t *testing.T) map[string]headline { return f.webHostPages(t, names) }},
		{name: "webhooks", read: func(t *testing.T) map[string]headline { return hooks.headlines(t, names) }},
		{name: "trust tokens", read: func(t *testing.T) map[string]headline { return f.tokenHeadlines(t, names) }},
		{name: "placement gate", failedSentenceOnly: true, read: func(t *testing.T) map[string]headline { return f.gateHeadlines(t, names) }},
	}
}

var (
	// The tables' last columns are CODE and REASON, both blank for a
	// Passed host.
	hostsListRow   = regexp.MustCompile(`(?m)^(esx-\S+)\s+\S+\s+\S+\s+\S+\s+(?:never|\S+ ago)(?:[ \t]+(\S+)[ \t]+(.*?))?[ \t]*$`)
	reportTableRow = regexp.MustCompile(`(?m)^(esx-\S+)\s+\S+\s+\S+\s+\S+\s+\d{4}-\d\d-\d\dT\S+(?:[ \t]+(\S+)[ \t]+(.*?))?[ \t]*$`)
	fleetRow       = regexp.MustCompile(`<a href="/hosts/[^"]*">([^<]*)</a></th>.*<td class="reason" data-code="([^"]*)">([^<]*)</td>`)
	hostReason     = regexp.MustCompile(`<dd id="reason" data-code="([^"]*)">([^<]*)</dd>`)
	firstFailure   = regexp.MustCompile(`<article class="failure">\s*<h3>([^<]*)</h3>\s*<p class="code">Check <code>([^<]*)</code>`)
)

// tableReasons reads a CLI table's CODE and REASON columns by host.
func tableReasons(t *testing.T, out string, row *regexp.Regexp) map[string]headline {
	got := map[string]headline{}
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		got[m[1]] = headline{code: m[2], reason: m[3]}
	}
	if len(got) == 0 {
		t.Errorf("no host rows in:\n%s", out)
	}
	return got
}

// reportJSON reads `report --format json` into the real type; the list of
// every failed check must hold the headline too.
func reportJSON(t *testing.T, env []string) map[string]headline {
	var rep api.Report
	decodeCLI(t, env, &rep, "report", "--format", "json")
	got := map[string]headline{}
	for _, r := range rep.Hosts {
		got[r.Name] = headline{r.Status, r.ReasonCode, r.Reason}
		if r.Status == "Failed" && !slices.Contains(r.ReasonCodes, r.ReasonCode) {
			t.Errorf("%s: report json lists %v, without its headline %s", r.Name, r.ReasonCodes, r.ReasonCode)
		}
		if len(r.Reasons) != len(r.ReasonCodes) {
			t.Errorf("%s: report json has %d reasons and %d codes", r.Name, len(r.Reasons), len(r.ReasonCodes))
		}
	}
	return got
}

// reportCSV reads `report --format csv` by its header's column names.
func reportCSV(t *testing.T, out string) map[string]headline {
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("report csv: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	got := map[string]headline{}
	for _, r := range rows[1:] {
		got[r[col["name"]]] = headline{r[col["status"]], r[col["reason_code"]], r[col["reason"]]}
	}
	return got
}

func (f *fleet) page(t *testing.T, path string) string {
	var body []byte
	if err := f.admin.Do(context.Background(), "GET", path, nil, &body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(body)
}

// webFleet reads the fleet table's reason cells (sentence and data-code).
func (f *fleet) webFleet(t *testing.T) map[string]headline {
	got := map[string]headline{}
	for _, m := range fleetRow.FindAllStringSubmatch(f.page(t, "/?sort=name"), -1) {
		got[html.UnescapeString(m[1])] = headline{code: m[2], reason: html.UnescapeString(m[3])}
	}
	return got
}

// webHostPages reads each host page's reason and checks that its list of
// failures starts with that same reason.
func (f *fleet) webHostPages(t *testing.T, names []string) map[string]headline {
	got := map[string]headline{}
	for _, n := range names {
		body := f.page(t, "/hosts/"+n)
		var h headline
		if m := hostReason.FindStringSubmatch(body); m != nil {
			h = headline{code: m[1], reason: html.UnescapeString(m[2])}
		}
		if m := firstFailure.FindStringSubmatch(body); m != nil && (m[2] != h.code || html.UnescapeString(m[1]) != h.reason) {
			t.Errorf("%s: the host page's failures start with %s %q, not its reason %s %q", n, m[2], html.UnescapeString(m[1]), h.code, h.reason)
		}
		got[n] = h
	}
	return got
}

// headlines waits for each host's status change to arrive, then reads the
// newest change's reason.
func (r *hookReceiver) headlines(t *testing.T, names []string) map[string]headline {
	eventually(t, 30*time.Second, func() string {
		got := r.latest()
		for _, n := range names {
			if _, ok := got[n]; !ok {
				return "no webhook for " + n
			}
		}
		return ""
	})
	got := map[string]headline{}
	for n, ev := range r.latest() {
		got[n] = headline{ev.To, ev.ReasonCode, ev.Reason}
	}
	return got
}

// tokenHeadlines reads the reason of each host's trust token, verified as
// a relying party would, with the published key.
func (f *fleet) tokenHeadlines(t *testing.T, names []string) map[string]headline {
	keys, err := trusttoken.ParsePublicKeys([]byte(f.page(t, "/.well-known/bootproof/trust-token-keys.pem")))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]headline{}
	for _, n := range names {
		var out struct {
			Token string `json:"token"`
		}
		if err := f.admin.Do(context.Background(), "POST", "/api/v1/hosts/"+n+"/trust-token?audience=headline", nil, &out); err != nil {
			t.Fatalf("trust token of %s: %v", n, err)
		}
		c, err := trusttoken.Verify(out.Token, keys, trusttoken.Expectations{Issuer: "bootproof", Audience: "headline", Now: time.Now()})
		if err != nil {
			t.Fatalf("trust token of %s: %v", n, err)
		}
		got[n] = headline{c.Status, c.ReasonCode, c.Reason}
	}
	return got
}

// gateHeadlines asks the placement gate, as a hypervisor hook does.
func (f *fleet) gateHeadlines(t *testing.T, names []string) map[string]headline {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys.pem")
	if err := os.WriteFile(keyFile, []byte(f.page(t, "/.well-known/bootproof/trust-token-keys.pem")), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(gate.Config{VerifierURL: f.url, CAFile: f.caFile(), APIToken: adminToken(t, f), CacheDir: filepath.Join(dir, "cache"),
		TokenKeyFile: keyFile, Issuer: "bootproof", Audience: "headline", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]headline{}
	for _, n := range names {
		d := g.Check(context.Background(), n)
		got[n] = headline{d.Status, d.ReasonCode, strings.TrimPrefix(d.Reason, "host failed attestation: ")}
	}
	return got
}

// checkReadmeDemoTable: the row of README.md's demo table that names each
// host ends with the status and first reason (`code`: sentence) the host
// shows. (internal/cli TestReadmeDemoTable checks the table names every
// demo host once.)
func checkReadmeDemoTable(t *testing.T, shown map[string]headline) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `esx-") {
			continue
		}
		for _, m := range regexp.MustCompile("`(esx-[^`]+)`").FindAllStringSubmatch(line, -1) {
			rows[m[1]] = line
		}
	}
	for n, h := range shown {
		want := fmt.Sprintf("| %s | `%s`: %s |", h.status, h.code, h.reason)
		if h.code == "" {
			want = "| " + h.status + " | |"
		}
		if !strings.HasSuffix(rows[n], want) {
			t.Errorf("README's demo table row for %s is %q; the demo shows %q", n, rows[n], want)
		}
	}
}
