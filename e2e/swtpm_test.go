package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/bootproof/bootproof/internal/verifier"
)

// TestAgentOnSwtpm runs `bootproof agent` the way it runs on a real host:
// against a separate TPM 2.0 process (swtpm, over its TCP command port), with
// the firmware event log and the bundle inventory read from files, and the
// EK pinned by the operator because swtpm without swtpm_setup has no EK
// certificate.
func TestAgentOnSwtpm(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	swtpm, err := exec.LookPath("swtpm")
	if err != nil {
		t.Skip("swtpm is not installed (Debian package swtpm); .ci/run installs it")
	}
	dir := t.TempDir()
	port := freeTCPPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(swtpm, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
		"--flags", "not-need-init,startup-clear")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start swtpm: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitPort(t, addr)

	// The "firmware": boot the emulated chain into swtpm and leave the log
	// and the installed bundles where the agent will find them.
	dev, err := tpm.OpenSwtpm(addr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := emuhost.Boot(dev, emuhost.BootConfig{Profile: "good"})
	if err != nil || res.Halted != nil {
		t.Fatalf("boot: %v %v", err, res.Halted)
	}
	ekPub, _, err := dev.EK()
	if err != nil {
		t.Fatal(err)
	}
	dev.Close()
	logPath := filepath.Join(dir, "binary_bios_measurements")
	if err := os.WriteFile(logPath, res.EventLog, 0o400); err != nil {
		t.Fatal(err)
	}
	bundles := filepath.Join(dir, "bundles")
	os.MkdirAll(bundles, 0o700)
	for i, b := range res.Bundles {
		os.WriteFile(filepath.Join(bundles, fmt.Sprintf("%02d.bundle", i)), b, 0o600)
	}

	f := newFleet(t, "--pin-ek", verifier.EKDigest(ekPub))
	p := start(t, "agent", "--verifier", f.url, "--ca", f.caFile(), "--host", "swtpm-host",
		"--state", filepath.Join(dir, "agent"), "--join-token", f.joinToken("", "10m"),
		"--tpm", "swtpm:"+addr, "--eventlog", logPath, "--bundles", bundles, "--once")
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("agent did not finish")
	}
	h, err := f.get("swtpm-host")
	if err != nil {
		t.Fatalf("host not enrolled: %v\n%s", err, p.output())
	}
	if h.Status != "Passed" || h.TPMFamily != "2.0" {
		t.Errorf("swtpm-host: %s %s (%s), want Passed on TPM 2.0\n%s", h.Status, h.TPMFamily, h.Reason, p.output())
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		// swtpm needs p and p+1.
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1)); err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
