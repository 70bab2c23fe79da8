package qemu

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootLimit bounds one guest boot. Without KVM, QEMU emulates the CPU
// (TCG): a boot takes 20-60 s on a busy two-core machine.
const bootLimit = 6 * time.Minute

// makeTPMCA writes swtpm_setup's and swtpm_localca's configuration for a
// local CA in dir/ca, made by the first swtpm_setup, and returns the
// swtpm_setup configuration file. The test's CA stays in its folder:
// nothing under /etc or /var/lib/swtpm-localca is used.
func makeTPMCA(t *testing.T, dir string) string {
	t.Helper()
	ca := filepath.Join(dir, "ca")
	if err := os.MkdirAll(ca, 0o755); err != nil {
		t.Fatal(err)
	}
	localca := filepath.Join(dir, "swtpm-localca.conf")
	writeFile(t, localca, fmt.Sprintf("statedir = %[1]s\nsigningkey = %[1]s/signkey.pem\nissuercert = %[1]s/issuercert.pem\ncertserial = %[1]s/certserial\n", ca))
	opts := filepath.Join(dir, "swtpm-localca.options")
	writeFile(t, opts, "--platform-manufacturer bootproof\n--platform-version 2.1\n--platform-model QEMU\n")
	tool, err := exec.LookPath("swtpm_localca")
	if err != nil {
		t.Fatal(err)
	}
	setup := filepath.Join(dir, "swtpm_setup.conf")
	writeFile(t, setup, fmt.Sprintf("create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\nactive_pcr_banks = sha256\n", tool, localca, opts))
	return setup
}

// makeTPM manufactures a TPM 2.0 state in dir: EK, EK certificate (signed by
// the local CA), platform certificate, and the PCR banks (such as
// "sha1,sha256") the firmware measures into.
func makeTPM(t *testing.T, setupConf, dir, banks string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "", "swtpm_setup", "--tpm2", "--tpmstate", dir, "--config", setupConf, "--pcr-banks", banks,
		"--create-ek-cert", "--create-platform-cert", "--lock-nvram", "--overwrite")
}

// copyTPMCA puts the local CA's certificates (root and issuer, not the
// keys) in a folder for the verifier's --ek-roots.
func copyTPMCA(t *testing.T, dir, out string) {
	t.Helper()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"swtpm-localca-rootca-cert.pem", "issuercert.pem"} {
		copyFile(t, filepath.Join(dir, "ca", n), filepath.Join(out, n), 0o644)
	}
}

// guest is one boot of the test machine.
type guest struct {
	name       string // host name the agent enrols as
	tpm        string // swtpm state folder
	secureBoot bool
	esp        string
}

func (g guest) String() string {
	if g.secureBoot {
		return g.name + " (Secure Boot on)"
	}
	return g.name + " (Secure Boot off)"
}

// accel is QEMU's accelerator: TCG (software emulation) unless
// BOOTPROOF_QEMU_ACCEL says otherwise ("kvm"). TCG is the default because
// a /dev/kvm that exists is no promise that it works: in nested virtual
// machines KVM may lack what OVMF's Secure Boot build needs (SMM).
func accel() string {
	if a := os.Getenv("BOOTPROOF_QEMU_ACCEL"); a != "" {
		return a
	}
	return "tcg"
}

// bootResult is what a boot left: its time, serial console and event log.
type bootResult struct {
	took     time.Duration
	serial   string
	eventLog []byte
}

// boot starts swtpm and QEMU and waits for the guest to power off. The agent
// in the guest takes its settings from fw_cfg: they are not measured, so a
// fresh join token does not change the boot.
func boot(t *testing.T, g guest, dir, verifierURL, caFile, joinToken string) bootResult {
	t.Helper()
	run := filepath.Join(dir, "boot-"+g.name+"-"+fmt.Sprint(time.Now().UnixNano()))
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(run, "swtpm.sock")
	swtpm := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+g.tpm,
		"--ctrl", "type=unixio,path="+sock, "--terminate", "--log", "file="+filepath.Join(run, "swtpm.log")+",level=1")
	swtpm.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := os.Create(filepath.Join(run, "swtpm.out")); err == nil {
		swtpm.Stdout, swtpm.Stderr = out, out
		defer out.Close()
	}
	if err := swtpm.Start(); err != nil {
		t.Fatalf("qemu: start swtpm: %v", err)
	}
	swtpmDone := make(chan struct{})
	go func() { _ = swtpm.Wait(); close(swtpmDone) }()
	defer func() {
		select {
		case <-swtpmDone:
		case <-time.After(5 * time.Second):
			_ = swtpm.Process.Kill()
			<-swtpmDone
		}
	}()
	waitFile(t, sock, swtpmDone, 10*time.Second)

	code, vars, machine := ovmfCode, ovmfVars, "q35"
	var secure []string
	if g.secureBoot {
		code, vars, machine = ovmfCodeSecure, ovmfVarsMS, "q35,smm=on"
		// Secure Boot's variables are only safe from the OS when flash
		// writes go through SMM.
		secure = []string{"-global", "driver=cfi.pflash01,property=secure,value=on"}
	}
	varsCopy := filepath.Join(run, "OVMF_VARS.fd")
	copyFile(t, vars, varsCopy, 0o644)
	// No default devices (CD-ROM, VGA) and no network boot ROM: fewer
	// boot options for the firmware to try, a faster boot without KVM.
	args := append([]string{"-machine", machine, "-accel", accel(), "-m", "1024", "-nodefaults",
		"-nographic", "-serial", "mon:stdio", "-no-reboot"}, secure...)
	args = append(args,
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
		"-drive", "if=pflash,format=raw,unit=1,file="+varsCopy,
		"-chardev", "socket,id=chrtpm,path="+sock,
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
		"-device", "tpm-tis,tpmdev=tpm0",
		"-drive", "if=none,id=esp,format=raw,file="+g.esp,
		"-device", "virtio-blk-pci,drive=esp,bootindex=0",
		"-netdev", "user,id=net0",
		"-device", "virtio-net-pci,netdev=net0,romfile=",
		"-fw_cfg", "name=opt/bootproof/verifier,string="+verifierURL,
		"-fw_cfg", "name=opt/bootproof/host,string="+g.name,
		"-fw_cfg", "name=opt/bootproof/token,string="+joinToken,
		"-fw_cfg", "name=opt/bootproof/ca,file="+caFile,
	)
	ctx, cancel := context.WithTimeout(context.Background(), bootLimit)
	defer cancel()
	// An emulated CPU keeps a core busy for the whole boot: nice puts it
	// (and every thread it starts) below the test packages go test runs
	// beside this one, whose timings matter more than the boot's. nice
	// execs QEMU, so the context's kill reaches QEMU itself.
	qemu := exec.CommandContext(ctx, "nice", append([]string{"-n", "10", "qemu-system-x86_64"}, args...)...)
	var serial lockedBuffer
	qemu.Stdout, qemu.Stderr = &serial, &serial
	began := time.Now()
	err := qemu.Run()
	took := time.Since(began)
	out := strings.ReplaceAll(serial.String(), "\r", "")
	_ = os.WriteFile(filepath.Join(run, "serial.log"), []byte(out), 0o644)
	if ctx.Err() != nil {
		t.Fatalf("qemu: %s did not power off within %s; serial console:\n%s", g, bootLimit, tail(out, 60))
	}
	if err != nil {
		t.Fatalf("qemu: %s: %v; serial console:\n%s", g, err, tail(out, 60))
	}
	if !strings.Contains(out, "bootproof-guest: agent exit status 0") {
		t.Fatalf("qemu: the agent in %s did not finish its attestation; serial console:\n%s", g, tail(out, 60))
	}
	log, err := eventLogFrom(out)
	if err != nil {
		t.Fatalf("qemu: %s: %v", g, err)
	}
	return bootResult{took: took, serial: out, eventLog: log}
}

// eventLogFrom takes the base64 event log the guest's init prints.
func eventLogFrom(serial string) ([]byte, error) {
	_, rest, ok := strings.Cut(serial, "bootproof-guest: event log begin\n")
	if !ok {
		return nil, fmt.Errorf("the serial console has no event log")
	}
	body, _, ok := strings.Cut(rest, "bootproof-guest: event log end")
	if !ok {
		return nil, fmt.Errorf("the serial console's event log is cut short")
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("the serial console's event log: %w", err)
	}
	return b, nil
}

// guestLines are the serial console lines worth a test log: init's own and
// the agent's.
func guestLines(serial string) string {
	var b strings.Builder
	for _, l := range strings.Split(serial, "\n") {
		if i := strings.Index(l, "bootproof-guest:"); i >= 0 && !strings.Contains(l, "event log") {
			b.WriteString("  " + l[i:] + "\n")
		} else if strings.HasPrefix(l, `{"time"`) || strings.Contains(l, "Secure Boot is") {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func waitFile(t *testing.T, path string, died <-chan struct{}, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-died:
			t.Fatalf("qemu: swtpm ended before making %s", path)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("qemu: no %s within %s", path, limit)
}

// lockedBuffer is an output buffer safe for a process's writers and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
