package e2e

import (
	"context"
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/policy"
)

// bootOnce boots host name with profile and attests once (the agent keeps
// its identity in its state folder, so later boots do not enrol again),
// then returns the host as the API shows it.
func (f *fleet) bootOnce(t *testing.T, name, profile, token string) api.Host {
	t.Helper()
	p := f.host(name, profile, token, "--once")
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s (%s) did not finish its attestation:\n%s", name, profile, p.output())
	}
	h, err := f.get(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPerHostPinAndAccept: in a group that pins the kernel per host, a
// host's first Passed boot pins its kernel; booting another genuinely
// signed kernel fails reference.kernel naming the change; `hosts accept`
// re-pins it and the next boot passes. (The emulated chain has no
// initramfs: the kernel stands in for the per-host class.)
func TestPerHostPinAndAccept(t *testing.T) {
	f := newFleet(t)
	f.setGroupPolicy("lab", func(p *policy.Policy) { p.PerHost = []string{policy.ClassKernel} })
	env := f.cliEnv(t)
	tok := f.joinToken("ph-01", "10m")

	if h := f.bootOnce(t, "ph-01", "good", tok); h.Status != "Passed" || h.TrustLevel != "references" {
		t.Fatalf("first boot: %s %q trust %q; want Passed at references", h.Status, h.Reason, h.TrustLevel)
	}
	h := f.bootOnce(t, "ph-01", "old-kernel", tok)
	if h.Status != "Failed" || h.ReasonCode != "reference.kernel" ||
		!strings.HasPrefix(h.Reason, "The kernel changed since ") || !strings.HasSuffix(h.Reason, "(pinned on this host).") {
		t.Fatalf("another kernel: %s %s %q; want Failed, the kernel changed since its pin", h.Status, h.ReasonCode, h.Reason)
	}
	d := f.detail(t, "ph-01")
	for _, c := range d.Verdict.Components.Class(policy.ClassKernel) {
		if !c.Judged {
			t.Errorf("kernel component %q not judged", c.Name)
		}
	}

	out, errOut, code := runCLI(t, env, "hosts", "accept", "ph-01", "--class", "initrd")
	if code == 0 || !strings.Contains(errOut, "pin.not_per_host") {
		t.Errorf("accept of a class the group does not pin per host: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, env, "hosts", "accept", "ph-01", "--class", "kernel")
	if code != 0 || !strings.HasPrefix(out, "ph-01: kernel pinned since ") {
		t.Fatalf("hosts accept: exit %d\n%s%s", code, out, errOut)
	}
	if h := f.bootOnce(t, "ph-01", "old-kernel", tok); h.Status != "Passed" {
		t.Fatalf("after accept: %s %q; want Passed", h.Status, h.Reason)
	}
	d = f.detail(t, "ph-01")
	for _, c := range d.Verdict.Components.Class(policy.ClassKernel) {
		if !strings.HasPrefix(c.Reference, "pinned on this host since ") {
			t.Errorf("kernel component %q: reference %q, want pinned on this host", c.Name, c.Reference)
		}
	}
	if !slices.ContainsFunc(f.audit(t), func(e api.AuditEntry) bool { return e.Action == "host.accept" && e.Target == "ph-01" }) {
		t.Error("the accept is not in the audit log")
	}
}

// TestSecureBootOnlyTrustLevel: a Passed host of a group that constrains
// no component shows trust level secure_boot_only in the API and the
// report (JSON and CSV), and references_required fails it with
// policy.no_references.
func TestSecureBootOnlyTrustLevel(t *testing.T) {
	f := newFleet(t)
	f.setGroupPolicy("sbonly", func(*policy.Policy) {})
	env := f.cliEnv(t)
	tok := f.gateJoinToken("sbonly", "sb-01")
	if h := f.bootOnce(t, "sb-01", "good", tok); h.Status != "Passed" || h.TrustLevel != "secure_boot_only" {
		t.Fatalf("sb-01: %s trust %q; want Passed at secure_boot_only", h.Status, h.TrustLevel)
	}
	var rep api.Report
	if err := f.admin.Do(context.Background(), "GET", "/api/v1/report?group=sbonly", nil, &rep); err != nil || len(rep.Hosts) != 1 || rep.Hosts[0].TrustLevel != "secure_boot_only" {
		t.Fatalf("report json: %+v, %v; want sb-01 at secure_boot_only", rep.Hosts, err)
	}
	out, errOut, code := runCLI(t, env, "report", "--format", "csv", "--group", "sbonly")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 2 || rows[0][len(rows[0])-1] != "trust_level" || rows[1][len(rows[1])-1] != "secure_boot_only" {
		t.Fatalf("report csv: exit %d %v\n%s%s", code, err, out, errOut)
	}
	if out, _, _ := runCLI(t, env, "report", "--group", "sbonly"); !strings.Contains(out, "Passed 1 (1 Secure Boot only: no reference values)") {
		t.Errorf("report table does not count the Secure Boot only host:\n%s", out)
	}
	for _, path := range []string{"/?group=sbonly", "/hosts/sb-01"} {
		if page := f.page(t, path); !strings.Contains(page, `<span class="badge st-passed">Passed (Secure Boot only: no reference values)</span>`) {
			t.Errorf("%s does not show sb-01 as Passed on Secure Boot only", path)
		}
	}

	f.setGroupPolicy("sbonly", func(p *policy.Policy) { p.ReferencesRequired = true })
	h := f.bootOnce(t, "sb-01", "good", tok)
	if h.Status != "Failed" || h.ReasonCode != "policy.no_references" || h.TrustLevel != "" {
		t.Fatalf("with references_required: %s %s %q trust %q; want Failed policy.no_references", h.Status, h.ReasonCode, h.Reason, h.TrustLevel)
	}

	// policy set on a new group requires reference values unless told otherwise.
	file := f.dir + "/new.yaml"
	if err := os.WriteFile(file, []byte("interval: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, env, "policy", "set", "fresh", file, "--yes"); code != 0 || !strings.Contains(errOut, "references_required: true added") {
		t.Fatalf("policy set on a new group: exit %d\n%s", code, errOut)
	}
	var raw []byte
	if err := f.admin.Do(context.Background(), "GET", "/api/v1/groups/fresh/policy", nil, &raw); err != nil {
		t.Fatal(err)
	}
	if p, err := policy.Parse(raw); err != nil || !p.ReferencesRequired {
		t.Errorf("new group's policy: %v, references_required %v; want true", err, p != nil && p.ReferencesRequired)
	}
}

// audit returns the audit log's newest entries.
func (f *fleet) audit(t *testing.T) []api.AuditEntry {
	t.Helper()
	var page api.Page[api.AuditEntry]
	if err := f.admin.Do(context.Background(), "GET", "/api/v1/audit?limit=100", nil, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// demoTrustLevel is the trust level the demo must show for a host: its
// Passed hosts of group esx-sb, which has no reference values, pass on
// Secure Boot alone; those of esx against its learnt references.
func demoTrustLevel(h api.Host) string {
	switch {
	case h.Status != "Passed":
		return ""
	case h.Group == "esx-sb":
		return "secure_boot_only"
	}
	return "references"
}
