package e2e

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/policy"
)

// fleet is a verifier process and the folders its hosts use.
type fleet struct {
	t        *testing.T
	dir      string
	addr     string
	url      string
	verifier *proc
	admin    *client.Client
	args     []string
}

func newFleet(t *testing.T, extra ...string) *fleet {
	t.Helper()
	return newFleetWith(t, nil, extra...)
}

// newFleetWith is newFleet with setup run on the fleet's folder before the
// verifier starts (e.g. to put its data folder on another filesystem).
func newFleetWith(t *testing.T, setup func(dir string), extra ...string) *fleet {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	f := &fleet{t: t, dir: t.TempDir(), addr: freePort(t)}
	if setup != nil {
		setup(f.dir)
	}
	f.url = "https://" + f.addr
	if _, err := makerca.LoadOrCreate(filepath.Join(f.dir, "maker")); err != nil {
		t.Fatal(err)
	}
	f.args = append([]string{"verifier", "--listen", f.addr, "--data", filepath.Join(f.dir, "data"),
		"--ek-roots", filepath.Join(f.dir, "maker")}, extra...)
	f.startVerifier()
	tok, err := os.ReadFile(filepath.Join(f.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	f.admin, err = client.New(client.Settings{URL: f.url, Token: strings.TrimSpace(string(tok)), CAFile: f.caFile()})
	if err != nil {
		t.Fatal(err)
	}
	f.trustEmulatedVendors("lab")
	return f
}

// trustEmulatedVendors sets group's policy to trust the emulated OS
// vendor's bundle root, as an operator would for their vendors.
func (f *fleet) trustEmulatedVendors(group string) {
	f.t.Helper()
	v, err := emuhost.DefaultVendors()
	if err != nil {
		f.t.Fatal(err)
	}
	p := policy.Default()
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	b, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.admin.Do(context.Background(), "PUT", "/api/v1/groups/"+group+"/policy", b, nil); err != nil {
		f.t.Fatalf("set policy: %v", err)
	}
}

func (f *fleet) caFile() string { return filepath.Join(f.dir, "data", "ca.pem") }

func (f *fleet) startVerifier() {
	f.verifier = start(f.t, f.args...)
	f.verifier.waitOutput(f.t, regexp.MustCompile(`verifier listening`), 30*time.Second)
}

func (f *fleet) joinToken(host, ttl string) string {
	f.t.Helper()
	var out api.JoinTokenResponse
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: "lab", Host: host, TTL: ttl}, &out); err != nil {
		f.t.Fatalf("join token: %v", err)
	}
	return out.Token
}

// host starts an emulated host process.
func (f *fleet) host(name, profile, token string, extra ...string) *proc {
	args := append([]string{"host", "--profile", profile, "--name", name, "--state", filepath.Join(f.dir, "hosts", name),
		"--maker-ca", filepath.Join(f.dir, "maker"), "--verifier", f.url, "--ca", f.caFile(), "--join-token", token}, extra...)
	return start(f.t, args...)
}

func (f *fleet) get(name string) (api.Host, error) {
	var h api.Host
	err := f.admin.Do(context.Background(), "GET", "/api/v1/hosts/"+name, nil, &h)
	return h, err
}

// TestEnrolAttestAndAttestNow starts a verifier and three emulated hosts,
// each its own process and TPM: every host has its first verdict within 5 s
// of its agent starting, and "attest now" is answered within 2 s.
func TestEnrolAttestAndAttestNow(t *testing.T) {
	f := newFleet(t)
	names := []string{"lab-01", "lab-02", "lab-03"}
	for _, n := range names {
		began := time.Now()
		f.host(n, "good", f.joinToken(n, "10m"))
		eventually(t, 5*time.Second, func() string {
			h, err := f.get(n)
			if err != nil || h.LastAttested == nil {
				return fmt.Sprintf("%s has no verdict yet (%v)", n, err)
			}
			return ""
		})
		t.Logf("%s: first verdict %s after its agent started", n, time.Since(began).Round(time.Millisecond))
	}
	for _, n := range names {
		h, _ := f.get(n)
		if h.Status != "Passed" {
			t.Errorf("%s is %s (%s), want Passed (no references yet: Secure Boot and bundles only)", n, h.Status, h.Reason)
		}
	}
	before, _ := f.get("lab-02")
	asked := time.Now()
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/hosts/lab-02/attest", nil, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() string {
		h, _ := f.get("lab-02")
		if h.LastAttested == nil || !h.LastAttested.After(*before.LastAttested) {
			return "lab-02 has not attested again"
		}
		return ""
	})
	t.Logf("attest now answered in %s", time.Since(asked).Round(time.Millisecond))
}

// TestEnrolmentAttacks tries each way of enrolling that must be refused.
func TestEnrolmentAttacks(t *testing.T) {
	f := newFleet(t)
	tok := f.joinToken("", "10m")
	ok := f.host("victim", "good", tok, "--once")
	select {
	case <-ok.done:
	case <-time.After(30 * time.Second):
		t.Fatal("victim did not finish its first attestation")
	}
	if h, err := f.get("victim"); err != nil || h.Status != "Passed" {
		t.Fatalf("victim = %+v, %v; want Passed", h, err)
	}
	expired := f.joinToken("", "1s")
	time.Sleep(1500 * time.Millisecond)
	tests := []struct {
		name  string
		host  string
		token string
		extra []string
		want  string
	}{
		{"reused join token", "other-1", tok, nil, "enroll.join_token_used"},
		{"expired join token", "other-2", expired, nil, "enroll.join_token_expired"},
		{"forged join token", "other-3", "bpj_" + strings.Repeat("A", 43), nil, "enroll.join_token_invalid"},
		{"token bound to another host", "other-4", f.joinToken("someone-else", "10m"), nil, "enroll.join_token_host"},
		{"known host with another TPM", "victim", f.joinToken("", "10m"), []string{"--tpm-seed", "4242", "--state", filepath.Join(f.dir, "hosts", "victim-on-another-tpm")}, "enroll.ek_changed"},
		{"a second agent claiming the victim's TPM", "impostor", f.joinToken("", "10m"),
			[]string{"--tpm-seed", fmt.Sprint(seedOf("victim"))}, "enroll.ek_in_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.host(tt.host, "good", tt.token, append([]string{"--once"}, tt.extra...)...)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatal("host did not give up")
			}
			if p.cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("enrolment succeeded:\n%s", p.output())
			}
			if !strings.Contains(p.output(), tt.want) {
				t.Errorf("output does not name %s:\n%s", tt.want, p.output())
			}
		})
	}
	if h, _ := f.get("victim"); !h.PendingEK {
		t.Error("the refused EK change is not waiting for an operator's approval")
	}
	var e *client.APIError
	if _, err := f.get("impostor"); !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("impostor was stored: %v", err)
	}
}

// TestUntrustedMaker: an EK certificate from a CA the verifier does not
// trust is refused.
func TestUntrustedMaker(t *testing.T) {
	f := newFleet(t)
	// The verifier trusts f.dir/maker; this host's TPM is certified by another maker.
	p := start(t, "host", "--profile", "good", "--name", "stray", "--state", filepath.Join(f.dir, "hosts", "stray"),
		"--maker-ca", filepath.Join(f.dir, "rogue-maker"), "--verifier", f.url, "--ca", f.caFile(),
		"--join-token", f.joinToken("", "10m"), "--once")
	<-p.done
	if !strings.Contains(p.output(), "enroll.ek_untrusted") {
		t.Errorf("want enroll.ek_untrusted:\n%s", p.output())
	}
}
