package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

// plainListener is a plain TCP listener standing where an attacker on the
// path, or a mistyped http:// URL, would put a verifier: it counts every
// connection and keeps what was sent, so a test can show that nothing
// (no join token, no bearer token) ever reached it.
type plainListener struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
	got   strings.Builder
}

func newPlainListener(t *testing.T) *plainListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &plainListener{ln: ln}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *plainListener) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns++
		p.mu.Unlock()
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			p.mu.Lock()
			p.got.Write(buf[:n])
			p.mu.Unlock()
		}()
	}
}

func (p *plainListener) url() string { return "http://" + p.ln.Addr().String() }

// seen returns how many connections came and what they sent.
func (p *plainListener) seen() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.got.String()
}

// runWithin is runCLI for a command that might not end by itself (an
// agent retrying a verifier it cannot reach): it is killed after limit,
// and that counts as a failure to refuse.
func runWithin(t *testing.T, limit time.Duration, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("bootproof %s still ran after %s", strings.Join(args, " "), limit)
		return out.String(), errb.String(), -1
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run bootproof %v: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// writeTestCA writes a CA certificate (PEM) for commands that need --ca.
func writeTestCA(t *testing.T, dir string) string {
	t.Helper()
	cert, _, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSecretsNeverSentOverPlainHTTP points every command that carries a
// secret (an API token, a join token, a webhook's payload) at an http://
// URL: each must refuse with an error naming the URL and saying https,
// before it dials, so the plain listener sees no connection at all.
func TestSecretsNeverSentOverPlainHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	dir := t.TempDir()
	ca := writeTestCA(t, dir)
	const apiToken = "bp_secretid.secretsecretsecret"
	const joinToken = "bpj_secretjointoken"
	lis := newPlainListener(t)
	u := lis.url()
	gateYAML := filepath.Join(dir, "gate.yaml")
	gateConf := fmt.Sprintf("verifier_url: %s\nca_file: %s\napi_token: %s\nhost: hv-01\ncache_dir: %s\ntoken_key_file: %s\ntimeout: 2s\n",
		u, ca, apiToken, filepath.Join(dir, "cache"), filepath.Join(dir, "keys.pem"))
	if err := os.WriteFile(gateYAML, []byte(gateConf), 0o600); err != nil {
		t.Fatal(err)
	}
	client := []string{"--url", u, "--token", apiToken, "--ca", ca}
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"hosts list", nil, append([]string{"hosts", "list"}, client...)},
		{"hosts move", nil, append([]string{"hosts", "move", "h1", "--group", "lab"}, client...)},
		{"report csv", nil, append([]string{"report", "--format", "csv"}, client...)},
		{"token join", nil, append([]string{"token", "join", "--group", "lab"}, client...)},
		{"token create", nil, append([]string{"token", "create", "--name", "x", "--role", "viewer"}, client...)},
		{"policy get", nil, append([]string{"policy", "get", "lab"}, client...)},
		{"hosts list from BOOTPROOF_URL", []string{"BOOTPROOF_URL=" + u, "BOOTPROOF_TOKEN=" + apiToken, "BOOTPROOF_CA=" + ca},
			[]string{"hosts", "list"}},
		{"gate check", nil, []string{"gate", "check", "--config", gateYAML}},
		{"gate check --fail-open", nil, []string{"gate", "check", "--config", gateYAML, "--fail-open"}},
		{"gate pin-key", nil, []string{"gate", "pin-key", "--config", gateYAML}},
		{"gate libvirt-hook", nil, []string{"gate", "libvirt-hook", "--config", gateYAML, "--", "web-01", "start", "begin", "-"}},
		{"agent", nil, []string{"agent", "--verifier", u, "--ca", ca, "--tpm", "sim:7", "--state", filepath.Join(dir, "agent"),
			"--join-token", joinToken, "--host", "h1", "--once"}},
		{"emulated host", nil, []string{"host", "--profile", "good", "--name", "h2", "--verifier", u, "--ca", ca,
			"--state", filepath.Join(dir, "host"), "--maker-ca", filepath.Join(dir, "maker"), "--join-token", joinToken, "--once"}},
		{"loadgen", nil, []string{"loadgen", "--url", u, "--ca", ca, "--token", apiToken, "--hosts", "1",
			"--maker-ca", filepath.Join(dir, "loadmaker")}},
		{"verifier with an http webhook", nil, []string{"verifier", "--listen", freePort(t), "--data", filepath.Join(dir, "vdata"),
			"--webhook", u + "/hook=whsecret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := lis.seen()
			out, errOut, code := runWithin(t, 20*time.Second, c.env, c.args...)
			all := out + errOut
			if code == 0 {
				t.Errorf("bootproof %s exited 0 with an http:// URL:\n%s", strings.Join(c.args, " "), all)
			}
			if !strings.Contains(all, u) || !strings.Contains(all, "not https") {
				t.Errorf("the error does not name the URL %s and say it is not https:\n%s", u, all)
			}
			// A connection accepted as the command ended shows up within this.
			time.Sleep(100 * time.Millisecond)
			if n, got := lis.seen(); n != before {
				t.Errorf("the plain HTTP listener got %d connections; all it was sent so far:\n%s", n-before, got)
			}
		})
	}
}

// assertPrivate fails for dir, or any file or folder in it, that group or
// others may read, write or enter; it returns the names it checked.
func assertPrivate(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		names = append(names, strings.TrimPrefix(p, dir))
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o, open to group or others", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// expectRefusal runs a bootproof command that must refuse to start, and
// checks that it said which path, which mode and the chmod that fixes it.
func expectRefusal(t *testing.T, path, mode, chmod string, args ...string) {
	t.Helper()
	out, errOut, code := runWithin(t, 15*time.Second, nil, args...)
	all := out + errOut
	if code == 0 {
		t.Errorf("bootproof %s started on %s of mode %s:\n%s", args[0], path, mode, all)
	}
	for _, want := range []string{path + " has mode " + mode, "run chmod " + chmod + " " + path} {
		if !strings.Contains(all, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, all)
		}
	}
}

// TestPrivateFilesAndRefusals: with the most permissive umask (0), the
// verifier's data folder (CA and token-signing keys in the database,
// the admin token) and an agent's state folder (its client key) come out
// 0700 and 0600, SQLite's -wal and -shm files included; a folder or file
// left open to group or others makes the verifier and the agent refuse to
// start, saying the path, its mode and the chmod that fixes it.
func TestPrivateFilesAndRefusals(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	f := newFleet(t)
	f.host("priv-01", "good", f.joinToken("priv-01", "10m"))
	f.gateWaitStatus("priv-01", "Passed", 30*time.Second)
	names := assertPrivate(t, filepath.Join(f.dir, "data"))
	for _, want := range []string{"/bootproof.db", "/bootproof.db-wal", "/bootproof.db-shm", "/admin.token", "/ca.pem"} {
		if !slices.Contains(names, want) {
			t.Errorf("the data folder has no %s to check (has %v)", want, names)
		}
	}
	if names := assertPrivate(t, filepath.Join(f.dir, "hosts", "priv-01")); !slices.Contains(names, "/identity.json") {
		t.Errorf("the agent's state folder has no identity.json to check (has %v)", names)
	}
	syscall.Umask(old)

	// Each case leaves one path of a new data folder open, then starts the
	// verifier on it.
	for _, c := range []struct {
		name, path, mode, chmod string
		leave                   func(data string)
	}{
		{"verifier data folder 0755", "", "0755", "700", func(data string) { mkdirMode(t, data, 0o755) }},
		{"verifier database 0644", "/bootproof.db", "0644", "600", func(data string) {
			mkdirMode(t, data, 0o700)
			writeMode(t, data+"/bootproof.db", 0o644)
		}},
		{"verifier SQLite WAL 0640", "/bootproof.db-wal", "0640", "600", func(data string) {
			mkdirMode(t, data, 0o700)
			writeMode(t, data+"/bootproof.db-wal", 0o640)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			c.leave(data)
			expectRefusal(t, data+c.path, c.mode, c.chmod, "verifier", "--listen", freePort(t), "--data", data)
			if c.path == "" {
				if _, err := os.Stat(filepath.Join(data, "bootproof.db")); err == nil {
					t.Error("the verifier made its database in the open folder before refusing")
				}
			}
		})
	}
	t.Run("agent state folder 0755", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		mkdirMode(t, state, 0o755)
		expectRefusal(t, state, "0755", "700", "host", "--profile", "good", "--name", "priv-02", "--state", state,
			"--maker-ca", filepath.Join(f.dir, "maker"), "--verifier", f.url, "--ca", f.caFile(),
			"--join-token", f.joinToken("priv-02", "10m"), "--once")
	})
}

func mkdirMode(t *testing.T, dir string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func writeMode(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, nil, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// formulaGroup and formulaReason are what an older verifier, which did
// not check group names, may hold: cells a spreadsheet would run.
const (
	formulaGroup  = "=HYPERLINK(\"https://evil.example\",\"x\")"
	formulaReason = "=2+3"
	formulaCode   = "@SUM(1)"
)

// storeFormulaCells stops the verifier, puts host in formulaGroup with a
// formula reason straight in its database (as a group stored before names
// were checked), and starts the verifier again.
func (f *fleet) storeFormulaCells(host string) {
	f.t.Helper()
	f.verifier.stop()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(f.dir, "data", "bootproof.db"))
	if err != nil {
		f.t.Fatal(err)
	}
	lab, err := st.GetGroup(ctx, "lab")
	if err != nil {
		f.t.Fatal(err)
	}
	lab.Name = formulaGroup
	if err := st.PutGroup(ctx, lab); err != nil {
		f.t.Fatal(err)
	}
	_, err = st.UpdateHost(ctx, host, func(h *store.Host) error {
		h.Group, h.Reason, h.ReasonCode = formulaGroup, formulaReason, formulaCode
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.startVerifier()
}

// assertNoFormula parses a CSV export and fails on any cell a spreadsheet
// would run; it returns the rows.
func assertNoFormula(t *testing.T, surface string, raw []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("%s: not CSV: %v\n%s", surface, err, raw)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("%s: cell %q would run as a formula", surface, cell)
			}
		}
	}
	return rows
}

// TestCSVExportsDefuseFormulas: a group and a reason that start with "="
// come out of all three CSV exports (the web report's, the API's and the
// CLI's) as text with a leading quote, never as a formula.
func TestCSVExportsDefuseFormulas(t *testing.T) {
	f := newFleet(t)
	e := f.newEvil(t, "csv-01", emuhost.Good, 0)
	e.enroll(f.joinToken("csv-01", "10m"))
	e.attestHonestly()
	f.storeFormulaCells("csv-01")
	tok, err := os.ReadFile(filepath.Join(f.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	var web, apiCSV []byte
	if err := f.admin.Do(context.Background(), "GET", "/export.csv", nil, &web); err != nil {
		t.Fatalf("web export: %v", err)
	}
	if err := f.admin.Do(context.Background(), "GET", "/api/v1/report?format=csv", nil, &apiCSV); err != nil {
		t.Fatalf("API report: %v", err)
	}
	cli, errOut, code := runCLI(t, nil, "report", "--format", "csv", "--url", f.url, "--ca", f.caFile(),
		"--token", strings.TrimSpace(string(tok)))
	if code != 0 {
		t.Fatalf("bootproof report --format csv: exit %d: %s", code, errOut)
	}
	for surface, raw := range map[string][]byte{"web export": web, "API report": apiCSV, "CLI report": []byte(cli)} {
		rows := assertNoFormula(t, surface, raw)
		found := false
		for _, row := range rows[1:] {
			if row[0] == "csv-01" {
				found = true
				if !slices.Contains(row, "'"+formulaGroup) || !slices.Contains(row, "'"+formulaReason) {
					t.Errorf("%s: row %q does not hold the group and reason as quoted text", surface, row)
				}
			}
		}
		if !found {
			t.Errorf("%s: no row for csv-01:\n%s", surface, raw)
		}
	}
}

// badGroupNames are names an operator's script, or a stolen operator
// token, might send: a formula, a line break that forges a log line, one
// character too many (64), capitals, a leading dash. (5,000 characters
// are tried on policy set, the one route with the name in the URL; a JSON
// body that long is refused as too large before its group is read.)
var badGroupNames = []string{"=1+2", "lab\nFailed host esx-01", strings.Repeat("a", 64), "Lab", "-lab"}

// expectGroupRefused checks that err is the verifier's 400 group.name
// refusal stating the rule.
func expectGroupRefused(t *testing.T, what string, err error) {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "group.name" || !strings.Contains(e.Message, "[a-z0-9][a-z0-9._-]{0,62}") {
		t.Errorf("%s = %v, want 400 group.name stating the rule", what, err)
	}
}

// TestGroupNamesRefused: every way a group name enters (join tokens,
// policy set and learn, host moves; through the API and the CLI) refuses
// a name that is not [a-z0-9][a-z0-9._-]{0,62}, saying the rule, and
// stores nothing. A group stored before names were checked stays
// readable, its host can be moved out of it, and it takes no new policy.
func TestGroupNamesRefused(t *testing.T) {
	f := newFleet(t)
	e := f.newEvil(t, "grp-01", emuhost.Good, 0)
	e.enroll(f.joinToken("grp-01", "10m"))
	e.attestHonestly()
	ctx := context.Background()
	var pol []byte
	if err := f.admin.Do(ctx, "GET", "/api/v1/groups/lab/policy", nil, &pol); err != nil {
		t.Fatal(err)
	}
	polFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(polFile, pol, 0o600); err != nil {
		t.Fatal(err)
	}
	tok, _ := os.ReadFile(filepath.Join(f.dir, "data", "admin.token"))
	cli := []string{"--url", f.url, "--ca", f.caFile(), "--token", strings.TrimSpace(string(tok))}
	for _, bad := range badGroupNames {
		short := fmt.Sprintf("%.12q", bad)
		err := f.admin.Do(ctx, "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: bad, TTL: "1h"}, nil)
		expectGroupRefused(t, "API join token for "+short, err)
		err = f.admin.Do(ctx, "PUT", "/api/v1/groups/"+url.PathEscape(bad)+"/policy", pol, nil)
		expectGroupRefused(t, "API policy set for "+short, err)
		err = f.admin.Do(ctx, "POST", "/api/v1/hosts/grp-01/move", map[string]string{"group": bad}, nil)
		expectGroupRefused(t, "API move into "+short, err)
		// "--" keeps a name such as "-lab" an argument, not a flag.
		for _, args := range [][]string{{"token", "join", "--group", bad}, {"policy", "set", "--", bad, polFile},
			{"hosts", "move", "--group", bad, "grp-01"}} {
			_, errOut, code := runCLI(t, nil, append(append(args[:2:2], cli...), args[2:]...)...)
			if code == 0 || !strings.Contains(errOut, "group.name") || !strings.Contains(errOut, "[a-z0-9][a-z0-9._-]{0,62}") {
				t.Errorf("bootproof %s %s: exit %d, want a refusal stating the rule:\n%s", args[0], args[1], code, errOut)
			}
		}
	}
	long := strings.Repeat("a", 5000)
	err := f.admin.Do(ctx, "PUT", "/api/v1/groups/"+long+"/policy", pol, nil)
	expectGroupRefused(t, "API policy set for 5,000 characters", err)
	var groups api.List[api.Group]
	if err := f.admin.Do(ctx, "GET", "/api/v1/groups", nil, &groups); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Items {
		if slices.Contains(badGroupNames, g.Name) || g.Name == long {
			t.Errorf("group %q was stored", g.Name)
		}
	}
	if h, _ := f.get("grp-01"); h.Group != "lab" {
		t.Errorf("grp-01 is in group %q after refused moves, want lab", h.Group)
	}

	t.Run("group stored before names were checked", func(t *testing.T) {
		f.storeFormulaCells("grp-01")
		if h, err := f.get("grp-01"); err != nil || h.Group != formulaGroup {
			t.Fatalf("grp-01 = %+v, %v; want it readable in group %q", h, err, formulaGroup)
		}
		err := f.admin.Do(ctx, "PUT", "/api/v1/groups/"+url.PathEscape(formulaGroup)+"/policy", pol, nil)
		expectGroupRefused(t, "API policy set for the stored group", err)
		if err := f.admin.Do(ctx, "POST", "/api/v1/hosts/grp-01/move", map[string]string{"group": "lab"}, nil); err != nil {
			t.Errorf("moving grp-01 out of the stored group: %v", err)
		}
		e.attestHonestly()
		if h, _ := f.get("grp-01"); h.Group != "lab" || h.Status != "Passed" {
			t.Errorf("grp-01 after the move: group %q, %s (%s); want lab, Passed", h.Group, h.Status, h.Reason)
		}
	})
}

// scrape GETs /metrics as Prometheus would, with token as its bearer
// token ("" for none), and returns the status and body.
func (f *fleet) scrape(t *testing.T, token string) (int, []byte) {
	t.Helper()
	c, err := client.New(client.Settings{URL: f.url, Token: token, CAFile: f.caFile()})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	err = c.Do(context.Background(), "GET", "/metrics", nil, &body)
	var e *client.APIError
	switch {
	case err == nil:
		return 200, body
	case errors.As(err, &e):
		return e.Status, []byte(e.Code)
	}
	t.Fatalf("GET /metrics: %v", err)
	return 0, nil
}

// restartWith restarts the verifier with more arguments (later flags win).
func (f *fleet) restartWith(args ...string) {
	f.t.Helper()
	f.verifier.stop()
	f.args = append(f.args, args...)
	f.startVerifier()
}

// TestMetricsNeedAToken: on a listener other machines can reach, /metrics
// answers only a valid API token (viewer is enough) by default; on a
// loopback listener it is open unless --metrics-auth; an operator may
// turn it off with --metrics-auth=false.
func TestMetricsNeedAToken(t *testing.T) {
	f := newFleet(t)
	ctx := context.Background()
	var viewer, revoked api.APITokenResponse
	for name, out := range map[string]*api.APITokenResponse{"prometheus": &viewer, "old-prometheus": &revoked} {
		if err := f.admin.Do(ctx, "POST", "/api/v1/api-tokens", api.APITokenRequest{Name: name, Role: "viewer"}, out); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.admin.Do(ctx, "DELETE", "/api/v1/api-tokens/"+revoked.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	expect := func(when, token string, status int, want string) {
		t.Helper()
		got, body := f.scrape(t, token)
		if got != status || !strings.Contains(string(body), want) {
			t.Errorf("%s: GET /metrics = %d %.80q, want %d with %q", when, got, body, status, want)
		}
	}
	expect("loopback listener, no token", "", 200, "bootproof_hosts")

	_, port, _ := net.SplitHostPort(f.addr)
	f.restartWith("--listen", "0.0.0.0:"+port)
	expect("all interfaces, no token", "", 401, "unauthenticated")
	expect("all interfaces, a forged token", "bp_000000000000_"+strings.Repeat("x", 43), 401, "unauthenticated")
	expect("all interfaces, a revoked token", revoked.Token, 401, "token_revoked")
	expect("all interfaces, a viewer token", viewer.Token, 200, "bootproof_hosts")

	f.restartWith("--metrics-auth=false")
	expect("all interfaces, --metrics-auth=false, no token", "", 200, "bootproof_hosts")

	f.restartWith("--listen", f.addr, "--metrics-auth")
	expect("loopback, --metrics-auth, no token", "", 401, "unauthenticated")
	expect("loopback, --metrics-auth, a viewer token", viewer.Token, 200, "bootproof_hosts")
}
