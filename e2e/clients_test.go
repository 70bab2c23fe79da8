package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
)

// runCLI runs a bootproof client command with only env (plus PATH) in its
// environment and returns its standard output, standard error and exit code.
func runCLI(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run bootproof %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestClientCommands drives the API client commands against a running
// verifier, finding it through BOOTPROOF_URL, BOOTPROOF_TOKEN and
// BOOTPROOF_CA, or through the matching flags.
func TestClientCommands(t *testing.T) {
	f := newFleet(t)
	f.host("cli-01", "good", f.joinToken("cli-01", "10m"))
	f.host("cli-02", "secureboot-off", f.joinToken("cli-02", "10m"))
	eventually(t, 30*time.Second, func() string {
		for _, n := range []string{"cli-01", "cli-02"} {
			if h, err := f.get(n); err != nil || h.LastAttested == nil {
				return n + " has not attested"
			}
		}
		return ""
	})
	tok, _ := os.ReadFile(f.dir + "/data/admin.token")
	admin := strings.TrimSpace(string(tok))
	env := []string{"BOOTPROOF_URL=" + f.url, "BOOTPROOF_TOKEN=" + admin, "BOOTPROOF_CA=" + f.caFile()}
	flags := []string{"--url", f.url, "--token", admin, "--ca", f.caFile()}

	mustRun := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("bootproof %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	t.Run("hosts list, from the environment and from flags", func(t *testing.T) {
		for _, out := range []string{mustRun(env, "hosts", "list"), mustRun(nil, append([]string{"hosts", "list"}, flags...)...)} {
			if !regexpLine(out, `cli-01\s+lab\s+2\.0\s+Passed`) || !regexpLine(out, `cli-02\s+lab\s+2\.0\s+Failed`) {
				t.Errorf("hosts list:\n%s", out)
			}
		}
	})
	t.Run("hosts show", func(t *testing.T) {
		var h api.HostDetail
		if err := strictJSON([]byte(mustRun(env, "hosts", "show", "cli-02", "--format", "json")), &h); err != nil || h.Name != "cli-02" || h.Status != "Failed" ||
			h.Verdict == nil || h.Verdict.Status != "Failed" {
			t.Errorf("hosts show cli-02 = %+v, %v", h, err)
		}
		// for people: the host line, then what differs before what booted
		text := mustRun(env, "hosts", "show", "cli-02")
		differs, booted := strings.Index(text, "\nWhat differs\n"), strings.Index(text, "\nWhat booted\n")
		if !strings.HasPrefix(text, "cli-02  group lab  Failed since ") || differs < 0 || booted < differs ||
			!strings.Contains(text, "  reason: "+h.Reason+" ("+h.ReasonCode+")") {
			t.Errorf("hosts show cli-02 (text):\n%s", text)
		}
		if _, errOut, code := runCLI(t, env, "hosts", "show", "no-such-host"); code == 0 || errOut == "" || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("hosts show no-such-host: exit %d, stderr %q; want a one-line error and a non-zero exit", code, errOut)
		}
	})
	t.Run("hosts attest", func(t *testing.T) {
		before, _ := f.get("cli-01")
		mustRun(env, "hosts", "attest", "cli-01")
		eventually(t, 10*time.Second, func() string {
			h, _ := f.get("cli-01")
			if h.LastAttested == nil || !h.LastAttested.After(*before.LastAttested) {
				return "cli-01 has not attested again"
			}
			return ""
		})
	})
	t.Run("report formats", func(t *testing.T) {
		if out := mustRun(env, "report", "--format", "table"); !regexpLine(out, `cli-02\s+lab\s+2\.0\s+Failed`) {
			t.Errorf("report table:\n%s", out)
		}
		var r api.Report
		if err := strictJSON([]byte(mustRun(env, "report", "--format", "json")), &r); err != nil || len(r.Hosts) != 2 {
			t.Fatalf("report json: %v %+v", err, r)
		}
		if h := r.Hosts[1]; h.Name != "cli-02" || h.Group != "lab" || h.Status != "Failed" || len(h.Reasons) == 0 {
			t.Errorf("report json host = %+v, want cli-02 Failed with its reasons", h)
		}
		rows, err := csv.NewReader(strings.NewReader(mustRun(env, "report", "--format", "csv"))).ReadAll()
		if err != nil || len(rows) != 3 || rows[0][0] != "name" || rows[2][0] != "cli-02" || rows[2][3] != "Failed" {
			t.Errorf("report csv = %q, %v", rows, err)
		}
	})
	t.Run("token create", func(t *testing.T) {
		viewer := strings.TrimSpace(mustRun(env, "token", "create", "--name", "auditor", "--role", "viewer"))
		if !strings.HasPrefix(viewer, "bp_") {
			t.Fatalf("token create printed %q", viewer)
		}
		venv := []string{"BOOTPROOF_URL=" + f.url, "BOOTPROOF_TOKEN=" + viewer, "BOOTPROOF_CA=" + f.caFile()}
		mustRun(venv, "hosts", "list")
		_, errOut, code := runCLI(t, venv, "token", "create", "--name", "x", "--role", "admin")
		if code == 0 || !strings.Contains(errOut, "forbidden") {
			t.Errorf("a viewer made a token: exit %d, %s", code, errOut)
		}
	})
	t.Run("no verifier configured", func(t *testing.T) {
		_, errOut, code := runCLI(t, nil, "hosts", "list")
		if code == 0 || !strings.Contains(errOut, "BOOTPROOF_URL") {
			t.Errorf("hosts list with nothing set: exit %d, %s", code, errOut)
		}
	})
}

func regexpLine(out, pattern string) bool {
	return regexp.MustCompile(`(?m)` + pattern).MatchString(out)
}

// strictJSON decodes a command's JSON output into the API type it prints,
// refusing fields that type does not have.
func strictJSON(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}
