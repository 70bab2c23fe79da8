package qemu

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/policy"
)

// fromFiles is the group whose reference values come only from files.
const fromFiles = "from-files"

// TestPolicyAddFromFiles: references computed by 'bootproof policy add
// --kernel FILE' from the downloaded Debian package (and shim, GRUB, the
// initramfs and grub.cfg the guest's ESP holds) match the real boot. A
// fresh group that never learnt gets them; a guest booted in it (Secure
// Boot on, two banks) Passes, and every boot loader, kernel, initramfs and
// boot configuration component is judged against a reference policy add
// made. One boot.
func TestPolicyAddFromFiles(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	k := fetchKernel(t, kernelPackage(t, ""))
	parts := espParts{k: k, initrd: buildInitramfs(t, k, dir, "initrd.img", nil)}
	esp := filepath.Join(dir, "esp.img")
	buildESP(t, parts, esp)
	setup := makeTPMCA(t, dir)
	tpm := filepath.Join(dir, "tpm")
	makeTPM(t, setup, tpm, "sha1,sha256")
	ekRoots := filepath.Join(dir, "ek-roots")
	copyTPMCA(t, dir, ekRoots)
	v := startVerifier(t, dir, ekRoots)

	// A fresh group with the default policy (IMA's PCR 10 ignored, as
	// setPolicy does): no reference values, nothing learnt.
	p := policy.Default()
	p.PCRsIgnore = []int{10}
	y, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v.cli(t, "policy", "set", fromFiles, writeTemp(t, dir, "fresh.yaml", y), "--yes")
	out := v.cli(t, "policy", "add", fromFiles, "--kernel", k.vmlinuz, "--bootloader", shimEFI, "--bootloader", grubEFI,
		"--initrd", parts.initrd, "--grub-config", esp+".grub.cfg")
	t.Logf("bootproof policy add %s (kernel %s):\n%s", fromFiles, k.version, out)
	refs := v.groupPolicy(t, fromFiles).References
	for class, n := range map[string]int{policy.ClassBootloader: 2, policy.ClassKernel: 2, policy.ClassInitrd: 1, policy.ClassBootConfig: 1} {
		if got := len(refs.Class(class)); got != n {
			t.Errorf("after policy add: %d %s references, want %d", got, class, n)
		}
	}

	g := guest{name: "qemu-from-files", tpm: tpm, secureBoot: true, esp: esp}
	var jt api.JoinTokenResponse
	if err := v.admin.Do(context.Background(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: fromFiles, Host: g.name, TTL: "15m"}, &jt); err != nil {
		t.Fatalf("qemu: join token: %v", err)
	}
	r := boot(t, g, dir, v.guestURL, v.caFile, jt.Token)
	h := v.host(t, g.name)
	t.Logf("%s booted in %s: %s %s %s", g, r.took.Round(100*time.Millisecond), h.Status, h.ReasonCode, h.Reason)
	if h.Group != fromFiles || h.Status != "Passed" {
		t.Fatalf("%s in group %s: %s (%s: %s), want Passed in %s against the references from files\n%s",
			g, h.Group, h.Status, h.ReasonCode, h.Reason, fromFiles, guestLines(r.serial))
	}
	checkJudgedFromFiles(t, v, g.name, k.version)
}

// checkJudgedFromFiles checks that the boot's shim, GRUB, kernel image,
// kernel file, initramfs and grub.cfg were each judged and matched a
// reference policy add labelled (the kernel by its version).
func checkJudgedFromFiles(t *testing.T, v *verifier, host, kernelVersion string) {
	t.Helper()
	cs := v.verdict(t, host).Components
	tests := []struct {
		class string
		pcrs  []int  // the boot measured at least one component in each
		label string // every one's reference names it
	}{
		{policy.ClassBootloader, []int{4}, "(SBAT "},
		// The kernel file GRUB read (PCR 9) and its image (PCR 4, logged
		// twice by this shim and firmware: verified, then started).
		{policy.ClassKernel, []int{4, 9}, "Linux " + kernelVersion},
		{policy.ClassInitrd, []int{9}, "initrd.img"},
		{policy.ClassBootConfig, []int{9}, "grub.cfg"},
	}
	for _, tt := range tests {
		got := cs.Class(tt.class)
		for _, pcr := range tt.pcrs {
			if !hasPCR(got, pcr) {
				t.Errorf("no PCR %d %s component: %+v", pcr, tt.class, got)
			}
		}
		for _, c := range got {
			t.Logf("%s %s (PCR %d): judged %v, reference %q", c.Class, c.Name, c.PCR, c.Judged, c.Reference)
			if !c.Judged || c.Reference == "" || !strings.Contains(c.Reference, tt.label) {
				t.Errorf("%s %s (PCR %d event %d): judged %v, reference %q; want judged against a reference from policy add naming %q",
					c.Class, c.Name, c.PCR, c.EventIndex, c.Judged, c.Reference, tt.label)
			}
		}
	}
}

func hasPCR(cs policy.Components, pcr int) bool {
	for _, c := range cs {
		if c.PCR == pcr {
			return true
		}
	}
	return false
}

// groupPolicy is a group's policy as GET /api/v1/groups/G/policy gives it.
func (v *verifier) groupPolicy(t *testing.T, group string) *policy.Policy {
	t.Helper()
	var raw []byte
	if err := v.admin.Do(context.Background(), "GET", "/api/v1/groups/"+group+"/policy", nil, &raw); err != nil {
		t.Fatalf("qemu: policy of %s: %v", group, err)
	}
	p, err := policy.Parse(raw)
	if err != nil {
		t.Fatalf("qemu: policy of %s: %v", group, err)
	}
	return p
}
