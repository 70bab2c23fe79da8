package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealFirmwareBoots boots a QEMU guest through OVMF, Debian's signed
// shim and GRUB and a signed Debian kernel with swtpm as its TPM, runs the
// agent in it against a verifier on this machine, and checks what an
// operator would see:
//
//  1. Secure Boot on, no reference values yet: Passed.
//  2. Secure Boot off (OVMF without Secure Boot, another TPM): Failed,
//     because Secure Boot was disabled.
//
// The verifier then learns the group's reference values from boot 1, and
// each of the next boots changes one part of it (subtests; see changes):
//
//  3. The kernel command line: Failed, headed by reference.boot_options,
//     naming the PCR 8 event of the new command line.
//  4. Another signed Debian kernel (the other version apt knows of
//     linux-image-cloud-amd64, with an initramfs of its own modules):
//     reference.kernel, naming the kernel, not a boot loader. Skipped where
//     apt knows only one.
//  5. The initramfs (one file added): reference.initrd, naming
//     /initrd.img, not a module.
//  6. grub.cfg (a comment added, the command line kept):
//     reference.boot_config, naming grub.cfg.
//  7. Secure Boot on, the learnt boot again: Passed against the references,
//     and GET /api/v1/hosts/NAME and the host's web page name shim, GRUB and
//     the kernel with the subjects of the certificates that verified them.
//  8. Secure Boot off again: Failed, headed by secureboot.disabled (OVMF's
//     build without Secure Boot also measures other firmware volumes into
//     PCR 0, so reference.firmware fails too, ranked after it).
//
// Each boot is a fresh agent (its state is in the initramfs), so each one
// enrols again with a new join token and a new AK in the same TPM.
func TestRealFirmwareBoots(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	kernelPkg := kernelPackage(t, "")
	k := fetchKernel(t, kernelPkg)
	t.Logf("kernel: %s (signed, from Debian's %s)", k.version, kernelMeta)
	learnt := espParts{k: k, initrd: buildInitramfs(t, k, dir, "initrd.img", nil)}
	esp := filepath.Join(dir, "esp.img")
	buildESP(t, learnt, esp)

	setup := makeTPMCA(t, dir)
	tpmOn, tpmOff := filepath.Join(dir, "tpm-on"), filepath.Join(dir, "tpm-off")
	// Two banks, as most real TPMs have them, for the golden guest: its
	// log and quotes carry both, and its references are learnt from both.
	makeTPM(t, setup, tpmOn, "sha1,sha256")
	makeTPM(t, setup, tpmOff, "sha256")
	ekRoots := filepath.Join(dir, "ek-roots")
	copyTPMCA(t, dir, ekRoots)

	v := startVerifier(t, dir, ekRoots)
	v.setPolicy(t)

	on := guest{name: "qemu-sb-on", tpm: tpmOn, secureBoot: true, esp: esp}
	off := guest{name: "qemu-sb-off", tpm: tpmOff, secureBoot: false, esp: esp}

	first := v.bootAndJudge(t, dir, on, "boot 1, no reference values yet")
	if h := v.host(t, on.name); h.Status != "Passed" {
		t.Errorf("%s: %s (%s: %s), want Passed", on, h.Status, h.ReasonCode, h.Reason)
	}
	checkEventLog(t, dir, first.eventLog, "sha1,sha256", esp, learnt.initrd, k)

	v.bootAndJudge(t, dir, off, "boot 2, no reference values yet")
	h := v.host(t, off.name)
	if h.Status != "Failed" || h.ReasonCode != "secureboot.disabled" || !strings.Contains(h.Reason, "Secure Boot was disabled") {
		t.Errorf("%s: %s (%s: %s), want Failed because Secure Boot was disabled", off, h.Status, h.ReasonCode, h.Reason)
	}

	v.learn(t, on.name)
	t.Logf("learnt group %s's reference values from %s:\n%s", group, on.name, v.cli(t, "policy", "get", group))

	for _, c := range changes(dir, learnt, kernelPkg) {
		t.Run(c.what, func(t *testing.T) { v.judgeChange(t, dir, on, c) })
	}

	v.bootAndJudge(t, dir, on, "boot 7, the learnt boot again")
	if h := v.host(t, on.name); h.Status != "Passed" {
		t.Errorf("%s against its own references: %s (%s: %s), want Passed", on, h.Status, h.ReasonCode, h.Reason)
	}
	t.Run("what booted", func(t *testing.T) { v.checkWhatBooted(t, on.name) })

	v.bootAndJudge(t, dir, off, "boot 8, Secure Boot off after learning")
	h = v.host(t, off.name)
	disabled := false
	for _, c := range v.verdict(t, off.name).Failures() {
		disabled = disabled || c.Code == "secureboot.disabled"
	}
	if h.Status != "Failed" || !disabled || h.ReasonCode != "secureboot.disabled" {
		t.Errorf("%s after learning: %s (%s: %s), want Failed headed by secureboot.disabled", off, h.Status, h.ReasonCode, h.Reason)
	}

	report := v.cli(t, "report")
	t.Logf("the security report:\n%s", report)
	for _, n := range []string{on.name, off.name} {
		if !strings.Contains(report, n) {
			t.Errorf("the report does not show %s", n)
		}
	}
}

// bootAndJudge boots g with a fresh join token and logs the boot's time and
// the verdict the verifier gave it.
func (v *verifier) bootAndJudge(t *testing.T, dir string, g guest, what string) bootResult {
	t.Helper()
	r := boot(t, g, dir, v.guestURL, v.caFile, v.joinToken(t, g.name))
	h := v.host(t, g.name)
	line := h.Status
	if h.Reason != "" {
		line += " (" + h.ReasonCode + ": " + h.Reason + ")"
	}
	t.Logf("%s: %s booted in %s: %s\n%s", what, g, r.took.Round(100*time.Millisecond), line, guestLines(r.serial))
	v.keepEvidence(t, g.name, what)
	return r
}

// keepEvidence writes the evidence behind a boot's verdict, as 'bootproof
// hosts evidence' fetches it, to $BOOTPROOF_ARTIFACTS/qemu/WHAT: real
// firmware evidence that 'bootproof appraise' reads, for looking into a
// failed run and for making test data.
func (v *verifier) keepEvidence(t *testing.T, host, what string) {
	t.Helper()
	root := os.Getenv("BOOTPROOF_ARTIFACTS")
	if root == "" {
		return
	}
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(what))
	out := filepath.Join(root, "qemu", slug)
	_ = os.RemoveAll(out)
	v.cli(t, "hosts", "evidence", host, "--out", out)
}

// writeTemp writes b to a new file in dir and returns its path.
func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
