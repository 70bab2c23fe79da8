package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/web/webtest"
)

// wantStatus is what the demo must show for each profile, with the reason
// code that must come first for failed hosts.
var wantStatus = map[string]struct{ status, code string }{
	"good":             {"Passed", ""},
	"secureboot-off":   {"Failed", "secureboot.disabled"},
	"tampered-kernel":  {"Failed", "reference.kernel"},
	"rogue-bootloader": {"Failed", "reference.bootloader"},
	"unsigned-bundle":  {"Failed", "bundle.signature"},
	"old-kernel":       {"Failed", "reference.kernel"},
	"community-bundle": {"Failed", "bundle.acceptance"},
	"tpm12":            {"N/A", "tpm.not_tpm20"},
	"no-tpm":           {"N/A", "tpm.not_tpm20"},
}

var (
	exportRE = regexp.MustCompile(`export BOOTPROOF_URL=(\S+) BOOTPROOF_TOKEN=(\S+) BOOTPROOF_CA=(\S+)`)
	viewerRE = regexp.MustCompile(`Viewer token \(sign in with it\): (\S+)`)
)

// TestDemo runs the README's first command and checks every profile's
// verdict through the API within 60 s, then restarts the demo on the same
// data and checks that the hosts come back with their identities.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	data := filepath.Join(t.TempDir(), "demo")
	addr := freePort(t)
	began := time.Now()
	d := start(t, "demo", "--hosts", "12", "--listen", addr, "--data", data)
	m := d.waitOutput(t, exportRE, 30*time.Second)
	c, err := client.New(client.Settings{URL: m[1], Token: m[2], CAFile: m[3]})
	if err != nil {
		t.Fatal(err)
	}
	check := func() string {
		hosts := hostsByName(t, c)
		if len(hosts) != 12 {
			return fmt.Sprintf("%d hosts enrolled, want 12", len(hosts))
		}
		for name, h := range hosts {
			profile := name[len("esx-NN-"):]
			want := wantStatus[profile]
			if h.Status != want.status || h.ReasonCode != want.code {
				return fmt.Sprintf("%s: %s %q (%s), want %s %q", name, h.Status, h.ReasonCode, h.Reason, want.status, want.code)
			}
			if wantTrust := demoTrustLevel(h); h.TrustLevel != wantTrust {
				return fmt.Sprintf("%s (group %s): trust level %q, want %q", name, h.Group, h.TrustLevel, wantTrust)
			}
		}
		return ""
	}
	eventually(t, 60*time.Second-time.Since(began), check)
	t.Logf("every profile had its verdict %s after the demo started", time.Since(began).Round(time.Millisecond))

	// The security report, in a real browser, signed in with the viewer token.
	viewer := viewerRE.FindStringSubmatch(d.output())[1]
	res := webtest.Browse(t, m[1], viewer, webtest.Want{
		Counts:           map[string]int{"Passed": 4, "Failed": 6, "N/A": 2, "Unreachable": 0, "Pending": 0},
		FailedHost:       "esx-04-tampered-kernel",
		IgnoreCertErrors: true,
	})
	if !strings.Contains(res.Reason, "kernel") || res.Expected == "" || res.Found == "" || res.Expected == res.Found {
		t.Errorf("host page of esx-04-tampered-kernel: reason %q, expected %q, found %q", res.Reason, res.Expected, res.Found)
	}
	if len(res.CSV) != 7 {
		t.Errorf("CSV export of the Failed filter has %d lines, want a header and 6 hosts", len(res.CSV))
	}

	before := hostsByName(t, c)
	d.stop()
	if !strings.Contains(d.output(), "Stopping") {
		t.Errorf("demo did not say it was stopping:\n%s", d.output())
	}
	d2 := start(t, "demo", "--hosts", "12", "--listen", addr, "--data", data)
	d2.waitOutput(t, regexp.MustCompile(`already learned`), 30*time.Second)
	eventually(t, 60*time.Second, func() string {
		hosts := hostsByName(t, c)
		for name, h := range hosts {
			b := before[name]
			if h.EKSHA256 != b.EKSHA256 || !h.EnrolledAt.Equal(b.EnrolledAt) {
				return fmt.Sprintf("%s came back with another identity", name)
			}
			if h.LastAttested == nil || !h.LastAttested.After(*b.LastAttested) {
				return fmt.Sprintf("%s has not attested again", name)
			}
		}
		return check()
	})
	var hist struct {
		Items []api.HistoryEntry `json:"items"`
	}
	if err := c.Do(context.Background(), "GET", "/api/v1/hosts/esx-03-secureboot-off/history", nil, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) == 0 || hist.Items[len(hist.Items)-1].To != "Failed" && hist.Items[0].To != "Failed" {
		t.Errorf("history of esx-03-secureboot-off = %+v, want its change to Failed kept", hist.Items)
	}
}

// TestDemoScenario acts out VMware's story: a good host rebooted with
// Secure Boot off goes Failed within one interval, and back to Passed when
// rebooted with it on.
func TestDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	d := start(t, "demo", "--hosts", "3", "--listen", freePort(t), "--data", filepath.Join(t.TempDir(), "demo"),
		"--scenario", "--interval", "20s")
	d.waitOutput(t, regexp.MustCompile(`Scenario: esx-02-good is Failed \(after [^)]*\)`), 90*time.Second)
	d.waitOutput(t, regexp.MustCompile(`Scenario: esx-02-good is Passed again`), 60*time.Second)
	if !strings.Contains(d.output(), "esx-02-good                  Failed: Secure Boot was disabled at boot.") {
		t.Errorf("the progress lines do not show esx-02-good failing for Secure Boot:\n%s", d.output())
	}
}

// TestDemoSaysWhatToDo: a port in use or a data folder that cannot be
// written gives an error that says what to do, not a stack trace.
func TestDemoSaysWhatToDo(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"port taken", []string{"--listen", busy.Addr().String(), "--data", filepath.Join(t.TempDir(), "d")}, "choose another with --listen"},
		{"data not writable", []string{"--listen", freePort(t), "--data", filepath.Join(notDir, "demo")}, "choose another with --data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, append([]string{"demo", "--hosts", "1"}, tt.args...)...)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatal("demo did not stop")
			}
			if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(p.output(), tt.want) {
				t.Errorf("exit %d, output does not say %q:\n%s", p.cmd.ProcessState.ExitCode(), tt.want, p.output())
			}
		})
	}
}
