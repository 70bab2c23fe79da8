package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// gateDomainXML is what libvirt writes to the hook's stdin (trimmed).
const gateDomainXML = `<domain type='kvm'>
  <name>web-01</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
</domain>
`

// gateHookScript is /etc/libvirt/hooks/qemu as docs/enforcement.md installs it,
// with this test's paths.
const gateHookScript = `#!/bin/sh
# libvirt qemu hook: bootproof placement gate (docs/enforcement.md)
exec %s gate libvirt-hook --config %s -- "$@"
`

// gateEnv is the environment libvirtd gives its hooks: little more than
// LC_ALL and PATH. Nothing of the test's environment leaks in.
func gateEnv(home string) []string {
	return []string{"LC_ALL=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home}
}

// gateHost is one hypervisor's gate: its gate.yaml, its cache and its hook.
type gateHost struct {
	t      *testing.T
	name   string
	dir    string
	config string
	hook   string
}

// gateHookResult is what libvirt would see of one hook run.
type gateHookResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// newGateHost writes gate.yaml and the hook script for host; extra is more
// YAML appended to the file.
func (f *fleet) newGateHost(name, apiToken, keyFile, extra string) *gateHost {
	f.t.Helper()
	g := &gateHost{t: f.t, name: name, dir: filepath.Join(f.dir, "gate-"+name)}
	if err := os.MkdirAll(g.dir, 0o700); err != nil {
		f.t.Fatal(err)
	}
	g.config = filepath.Join(g.dir, "gate.yaml")
	yaml := fmt.Sprintf("verifier_url: %s\nca_file: %s\napi_token: %s\nhost: %s\ncache_dir: %s\ntoken_key_file: %s\ntimeout: 2s\n%s",
		f.url, f.caFile(), apiToken, name, filepath.Join(g.dir, "cache"), keyFile, extra)
	if err := os.WriteFile(g.config, []byte(yaml), 0o600); err != nil {
		f.t.Fatal(err)
	}
	g.hook = filepath.Join(g.dir, "qemu")
	if err := os.WriteFile(g.hook, []byte(fmt.Sprintf(gateHookScript, binary, g.config)), 0o755); err != nil {
		f.t.Fatal(err)
	}
	return g
}

// run calls the hook exactly as libvirtd does: guest name, operation,
// sub-operation and extra argument, the domain XML on stdin, a bare
// environment.
func (g *gateHost) run(op, subop string) gateHookResult {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.hook, "web-01", op, subop, "-")
	cmd.Stdin = strings.NewReader(gateDomainXML)
	cmd.Env = gateEnv(g.dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	r := gateHookResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
	if err != nil && r.code <= 0 {
		// Errorf, not Fatalf: run is also called from a polling goroutine.
		g.t.Errorf("run hook %s %s: %v\n%s", op, subop, err, r.stderr)
		r.code = -1
	}
	return r
}

// expect runs start and incoming migration and checks libvirt's view of both.
func (g *gateHost) expect(allow bool, wantStderr ...string) {
	g.t.Helper()
	for _, op := range []string{"start", "migrate"} {
		r := g.run(op, "begin")
		want := map[bool]int{true: 0, false: 1}[allow]
		if r.code != want {
			g.t.Errorf("%s: hook %s begin exited %d, want %d; stderr: %s", g.name, op, r.code, want, r.stderr)
		}
		if r.stdout != "" {
			g.t.Errorf("%s: hook %s wrote to stdout, which libvirt reads as a new domain XML: %q", g.name, op, r.stdout)
		}
		for _, w := range wantStderr {
			if !strings.Contains(r.stderr, w) {
				g.t.Errorf("%s: hook %s begin stderr does not say %q:\n%s", g.name, op, w, r.stderr)
			}
		}
		refusal := map[string]string{"start": "refused to start guest web-01",
			"migrate": "refused to accept the incoming migration of guest web-01"}[op]
		if !allow && !strings.Contains(r.stderr, refusal) {
			g.t.Errorf("%s: refusal does not say %q: %s", g.name, refusal, r.stderr)
		}
	}
}

// setGroupPolicy sets a group's policy: the emulated vendors trusted, then edit.
func (f *fleet) setGroupPolicy(group string, edit func(p *policy.Policy)) {
	f.t.Helper()
	v, err := emuhost.DefaultVendors()
	if err != nil {
		f.t.Fatal(err)
	}
	p := policy.Default()
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	edit(p)
	b, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.admin.Do(context.Background(), "PUT", "/api/v1/groups/"+group+"/policy", b, nil); err != nil {
		f.t.Fatalf("set policy of %s: %v", group, err)
	}
}

func (f *fleet) gateJoinToken(group, host string) string {
	f.t.Helper()
	var out api.JoinTokenResponse
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: group, Host: host, TTL: "10m"}, &out); err != nil {
		f.t.Fatalf("join token: %v", err)
	}
	return out.Token
}

func (f *fleet) gateWaitStatus(name, status string, limit time.Duration) api.Host {
	f.t.Helper()
	var h api.Host
	eventually(f.t, limit, func() string {
		var err error
		if h, err = f.get(name); err != nil || h.Status != status {
			return fmt.Sprintf("%s is %q (%v), want %s", name, h.Status, err, status)
		}
		return ""
	})
	return h
}

// TestGateLibvirtHook drives "bootproof gate libvirt-hook" as libvirt does,
// against a real verifier and emulated hosts, for every status a host can
// have, a verifier outage with and without a cached token, and forged and
// expired tokens.
func TestGateLibvirtHook(t *testing.T) {
	f := newFleet(t)
	ctx := context.Background()
	var viewer api.APITokenResponse
	if err := f.admin.Do(ctx, "POST", "/api/v1/api-tokens", api.APITokenRequest{Name: "gate", Role: "viewer"}, &viewer); err != nil {
		t.Fatal(err)
	}
	// fast: attested every 2 s; a verdict counts for 8 s; 2 missed intervals make a host Unreachable.
	f.setGroupPolicy("fast", func(p *policy.Policy) {
		p.Interval, p.UnreachableAfter, p.VerdictMaxAge = 2*time.Second, 2, 8*time.Second
	})
	f.setGroupPolicy("stale", func(p *policy.Policy) { p.Interval, p.VerdictMaxAge = time.Hour, 2*time.Second })
	f.setGroupPolicy("legacy", func(p *policy.Policy) { p.NAAllowed = true })
	hosts := []struct{ name, profile, group string }{
		{"gp-pass", "good", "lab"}, {"gp-sboff", "secureboot-off", "lab"}, {"gp-na", "tpm12", "legacy"},
		{"gp-stale", "good", "stale"}, {"gp-gone", "good", "fast"}, {"gp-cache", "good", "fast"},
	}
	procs := map[string]*proc{}
	for _, h := range hosts {
		procs[h.name] = f.host(h.name, h.profile, f.gateJoinToken(h.group, h.name))
	}
	keyFile := filepath.Join(f.dir, "trust-token-keys.pem")
	gates := map[string]*gateHost{}
	for _, h := range hosts {
		gates[h.name] = f.newGateHost(h.name, viewer.Token, keyFile, "leeway: 0s\n")
	}
	pin := start(t, "gate", "pin-key", "--config", gates["gp-pass"].config)
	<-pin.done
	if pin.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("gate pin-key:\n%s", pin.output())
	}
	eventually(t, 60*time.Second, func() string {
		for _, h := range hosts {
			if got, err := f.get(h.name); err != nil || got.LastAttested == nil && got.Status != "N/A" {
				return fmt.Sprintf("%s has no verdict yet (%+v, %v)", h.name, got, err)
			}
		}
		return ""
	})

	t.Run("passed host: start and incoming migration allowed", func(t *testing.T) {
		f.gateWaitStatus("gp-pass", "Passed", 5*time.Second)
		g := gates["gp-pass"]
		g.t = t
		g.expect(true)
		if r := g.run("start", "begin"); r.stderr != "" {
			t.Errorf("an allowed start on a fresh Passed host printed: %s", r.stderr)
		}
	})
	t.Run("failed host: refused with the reason", func(t *testing.T) {
		h := f.gateWaitStatus("gp-sboff", "Failed", 5*time.Second)
		g := gates["gp-sboff"]
		g.t = t
		g.expect(false, "host failed attestation", h.Reason)
		// Every deny is in the verifier's audit log.
		var audit api.Page[api.AuditEntry]
		if err := f.admin.Do(ctx, "GET", "/api/v1/audit?limit=1000", nil, &audit); err != nil {
			t.Fatal(err)
		}
		denies := 0
		for _, e := range audit.Items {
			if e.Action == "placement.deny" && e.Target == "gp-sboff" {
				denies++
			}
		}
		if denies < 2 {
			t.Errorf("audit log has %d placement.deny entries for gp-sboff, want one per refused call (2)", denies)
		}
	})
	t.Run("gate check: exit 0 allow, 1 deny, one line why", func(t *testing.T) {
		for _, tt := range []struct {
			host, want string
			code       int
		}{{"gp-pass", "allow: host gp-pass: host passed attestation", 0}, {"gp-sboff", "deny: host gp-sboff: host failed attestation", 1}} {
			p := start(t, "gate", "check", "--config", gates["gp-pass"].config, "--host", tt.host)
			<-p.done
			out := p.output()
			if code := p.cmd.ProcessState.ExitCode(); code != tt.code || !strings.HasPrefix(out, tt.want) || strings.Count(out, "\n") != 1 {
				t.Errorf("gate check --host %s: exit %d, output %q; want exit %d and one line starting %q", tt.host, code, out, tt.code, tt.want)
			}
		}
	})
	t.Run("N/A host: allowed only when the group's policy allows N/A", func(t *testing.T) {
		f.gateWaitStatus("gp-na", "N/A", 5*time.Second)
		g := gates["gp-na"]
		g.t = t
		g.expect(true, "no TPM 2.0", "the group's policy allows such hosts")
		f.setGroupPolicy("legacy", func(p *policy.Policy) { p.NAAllowed = false })
		g.expect(false, "no TPM 2.0")
	})
	t.Run("stale Passed verdict: refused", func(t *testing.T) {
		h := f.gateWaitStatus("gp-stale", "Passed", 5*time.Second)
		time.Sleep(time.Until(h.LastAttested.Add(2500 * time.Millisecond)))
		g := gates["gp-stale"]
		g.t = t
		g.expect(false, "stale")
	})
	t.Run("unreachable host: refused", func(t *testing.T) {
		f.gateWaitStatus("gp-gone", "Passed", 5*time.Second)
		procs["gp-gone"].stop()
		// 2 missed 2 s intervals, then the next sweep (every 5 s).
		f.gateWaitStatus("gp-gone", "Unreachable", 20*time.Second)
		g := gates["gp-gone"]
		g.t = t
		g.expect(false, "unreachable")
	})
	t.Run("Passed to Failed: denied within 1 s of the verdict being stored", func(t *testing.T) {
		g := gates["gp-pass"]
		g.t = t
		if r := g.run("start", "begin"); r.code != 0 {
			t.Fatalf("gp-pass refused before the change: %s", r.stderr)
		}
		var (
			mu        sync.Mutex
			firstDeny time.Time
			denyErr   string
		)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := g.run("start", "begin")
				if r.code == 1 {
					mu.Lock()
					firstDeny, denyErr = time.Now(), r.stderr
					mu.Unlock()
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		// The host's kernel is no longer in the reference values: its next verdict is Failed.
		f.setGroupPolicy("lab", func(p *policy.Policy) {
			p.References.Kernel = []policy.Reference{{SHA256: strings.Repeat("ab", 32), Label: "the only kernel allowed"}}
		})
		if err := f.admin.Do(ctx, "POST", "/api/v1/hosts/gp-pass/attest", nil, nil); err != nil {
			t.Fatal(err)
		}
		h := f.gateWaitStatus("gp-pass", "Failed", 15*time.Second)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		if firstDeny.IsZero() {
			t.Fatalf("the hook still allows gp-pass, Failed since %s", h.StatusSince)
		}
		lag := firstDeny.Sub(h.StatusSince)
		t.Logf("first deny %s after the Failed verdict was stored", lag.Round(time.Millisecond))
		if lag > time.Second {
			t.Errorf("first deny came %s after the Failed verdict was stored, want within 1s", lag)
		}
		if !strings.Contains(denyErr, "host failed attestation") {
			t.Errorf("deny does not give the reason: %s", denyErr)
		}
	})

	// From here on the verifier is down.
	g := gates["gp-cache"]
	var cached string
	t.Run("verifier down with a valid cached token: allowed until it expires", func(t *testing.T) {
		g.t = t
		f.gateWaitStatus("gp-cache", "Passed", 5*time.Second)
		if r := g.run("start", "begin"); r.code != 0 {
			t.Fatalf("online check refused: %s", r.stderr)
		}
		b, err := os.ReadFile(filepath.Join(g.dir, "cache", "gp-cache.token"))
		if err != nil {
			t.Fatalf("no cached token after an online allow: %v", err)
		}
		cached = string(b)
		exp := gateTokenExpiry(t, cached)
		f.verifier.stop()
		if time.Until(exp) < 500*time.Millisecond {
			t.Skipf("cached token expires too soon to test (%s)", exp)
		}
		g.expect(true, "verifier unreachable", "cached trust token (status Passed) allows placement")
		time.Sleep(time.Until(exp.Add(1100 * time.Millisecond)))
		g.expect(false, "verifier unreachable", "token expired")
	})
	t.Run("verifier down without a cached token: refused (fail-closed)", func(t *testing.T) {
		fresh := f.newGateHost("gp-cache", viewer.Token, keyFile, "")
		os.RemoveAll(filepath.Join(fresh.dir, "cache"))
		fresh.t = t
		fresh.expect(false, "verifier unreachable", "no cached trust token", "fail-closed")
	})
	t.Run("verifier down, fail_open set: allowed, loudly", func(t *testing.T) {
		open := f.newGateHost("gp-open", viewer.Token, keyFile, "fail_open: true\n")
		open.t = t
		open.expect(true, "FAIL-OPEN")
	})
	t.Run("forged tokens: refused", func(t *testing.T) {
		if cached == "" {
			t.Skip("no genuine token was cached")
		}
		parts := strings.Split(cached, ".")
		forgeries := map[string]string{
			"claims edited, signature kept": parts[0] + "." + gateEditClaims(t, parts[1]) + "." + parts[2],
			"signature of another key":      gateForgeWithNewKey(t, parts[1]),
			"not a token":                   "eyJhbGciOiJub25lIn0.e30.",
		}
		for name, tok := range forgeries {
			t.Run(name, func(t *testing.T) {
				fg := f.newGateHost("gp-forged", viewer.Token, keyFile, "leeway: 0s\n")
				fg.t = t
				if err := os.MkdirAll(filepath.Join(fg.dir, "cache"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(fg.dir, "cache", "gp-forged.token"), []byte(tok), 0o600); err != nil {
					t.Fatal(err)
				}
				fg.expect(false, "cached trust token rejected")
			})
		}
	})
	t.Run("every other operation passes at once, even on a Failed host with the verifier down", func(t *testing.T) {
		g := gates["gp-sboff"]
		g.t = t
		for _, call := range [][2]string{{"started", "begin"}, {"stopped", "end"}, {"release", "end"}, {"restore", "begin"},
			{"reconnect", "begin"}, {"attach", "begin"}, {"start", "end"}} {
			r := g.run(call[0], call[1])
			if r.code != 0 || r.stdout != "" || r.stderr != "" || r.took > 2*time.Second {
				t.Errorf("hook %s %s: exit %d in %s, stdout %q, stderr %q; want exit 0, silent, at once", call[0], call[1], r.code, r.took, r.stdout, r.stderr)
			}
		}
	})
}

func gateClaimsOf(t *testing.T, part string) trusttoken.Claims {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	var c trusttoken.Claims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func gateTokenExpiry(t *testing.T, tok string) time.Time {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("cached token is not a JWS: %q", tok)
	}
	return time.Unix(gateClaimsOf(t, parts[1]).Expiry, 0)
}

// gateForgedClaims are a genuine token's claims moved to host gp-forged and a
// long life, as an attacker would want them.
func gateForgedClaims(t *testing.T, part string) trusttoken.Claims {
	c := gateClaimsOf(t, part)
	c.Subject, c.Expiry, c.Placement, c.Status = "gp-forged", time.Now().Add(time.Hour).Unix(), "allow", "Passed"
	return c
}

func gateEditClaims(t *testing.T, part string) string {
	b, err := json.Marshal(gateForgedClaims(t, part))
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func gateForgeWithNewKey(t *testing.T, part string) string {
	k, err := trusttoken.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := trusttoken.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(gateForgedClaims(t, part))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
