package qemu

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/policy"
)

// group is the host group the guests join.
const group = "qemu"

// verifier is a 'bootproof verifier' process on this machine. The guest
// reaches it at 10.0.2.2, QEMU's user-mode network's name for the host's
// loopback; the test at 127.0.0.1. Its certificate names both.
type verifier struct {
	guestURL string
	hostURL  string
	caFile   string
	tokFile  string
	admin    *client.Client
}

func startVerifier(t *testing.T, dir, ekRoots string) *verifier {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	data := filepath.Join(dir, "verifier")
	cmd := exec.Command(bootproofBin, "verifier", "--listen", addr, "--data", data, "--ek-roots", ekRoots,
		"--server-name", "10.0.2.2", "--server-name", "127.0.0.1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("qemu: start verifier: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("verifier output:\n%s", tail(out.String(), 80))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "verifier listening") {
		select {
		case <-done:
			t.Fatalf("qemu: verifier ended:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("qemu: verifier not listening within 30 s:\n%s", out.String())
		}
	}
	v := &verifier{guestURL: "https://10.0.2.2:" + port, hostURL: "https://" + addr,
		caFile: filepath.Join(data, "ca.pem"), tokFile: filepath.Join(data, "admin.token")}
	tok, err := os.ReadFile(v.tokFile)
	if err != nil {
		t.Fatal(err)
	}
	v.admin, err = client.New(client.Settings{URL: v.hostURL, Token: strings.TrimSpace(string(tok)), CAFile: v.caFile})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// setPolicy gives the group the default policy (Secure Boot required) and
// ignores PCR 10: the guest kernel's IMA extends it with its boot
// aggregate, which IMA logs in its own log, not in the firmware's.
func (v *verifier) setPolicy(t *testing.T) {
	t.Helper()
	p := policy.Default()
	p.PCRsIgnore = []int{10}
	v.putPolicy(t, p)
}

// putPolicy sets the group's policy as an admin would (PUT, YAML).
func (v *verifier) putPolicy(t *testing.T, p *policy.Policy) {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.admin.Do(context.Background(), "PUT", "/api/v1/groups/"+group+"/policy", b, nil); err != nil {
		t.Fatalf("qemu: set policy: %v", err)
	}
}

func (v *verifier) joinToken(t *testing.T, host string) string {
	t.Helper()
	var out api.JoinTokenResponse
	if err := v.admin.Do(context.Background(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: group, Host: host, TTL: "15m"}, &out); err != nil {
		t.Fatalf("qemu: join token: %v", err)
	}
	return out.Token
}

func (v *verifier) learn(t *testing.T, host string) {
	t.Helper()
	if err := v.admin.Do(context.Background(), "POST", "/api/v1/groups/"+group+"/learn", map[string]string{"host": host}, nil); err != nil {
		t.Fatalf("qemu: learn from %s: %v", host, err)
	}
}

// host is GET /api/v1/hosts/NAME: the host and its latest verdict.
func (v *verifier) host(t *testing.T, name string) api.HostDetail {
	t.Helper()
	var h api.HostDetail
	if err := v.admin.Do(context.Background(), "GET", "/api/v1/hosts/"+name, nil, &h); err != nil {
		t.Fatalf("qemu: get host %s: %v", name, err)
	}
	return h
}

// verdict is the host's latest verdict, as GET /api/v1/hosts/NAME/verdict
// shows it.
func (v *verifier) verdict(t *testing.T, name string) *appraisal.Verdict {
	t.Helper()
	var out api.HostVerdict
	if err := v.admin.Do(context.Background(), "GET", "/api/v1/hosts/"+name+"/verdict", nil, &out); err != nil {
		t.Fatalf("qemu: verdict of %s: %v", name, err)
	}
	if out.Verdict == nil {
		t.Fatalf("qemu: %s has no verdict", name)
	}
	return out.Verdict
}

// page is a page of the web report as an operator signed in with the
// admin token sees it (the web takes the API token as a Bearer header as
// well as from its sign-in cookie).
func (v *verifier) page(t *testing.T, path string) string {
	t.Helper()
	var body []byte
	if err := v.admin.Do(context.Background(), "GET", path, nil, &body); err != nil {
		t.Fatalf("qemu: GET %s: %v", path, err)
	}
	return string(body)
}

// cli runs the bootproof command line against the verifier, as an
// operator would.
func (v *verifier) cli(t *testing.T, args ...string) string {
	t.Helper()
	tok, err := os.ReadFile(v.tokFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bootproofBin, args...)
	cmd.Env = append(os.Environ(), "BOOTPROOF_URL="+v.hostURL, "BOOTPROOF_CA="+v.caFile, "BOOTPROOF_TOKEN="+strings.TrimSpace(string(tok)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("qemu: bootproof %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
