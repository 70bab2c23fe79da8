package qemu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// recordedBoot is the verdict of a real boot of this test's guest,
// recorded for the appraisal's tests: its components name the certificates
// that verified them.
const recordedBoot = "../../internal/appraisal/testdata/verdicts/debian-qemu-sb-on.json"

// debianSigners are the certificates that verify Debian's boot chain, by
// subject, with the fingerprints the recorded real boot's authorities
// show: shim by Microsoft's UEFI CA in OVMF's db, GRUB and the kernel by
// the Debian Secure Boot CA that shim carries.
func debianSigners(t *testing.T) (msUEFICA, debianCA policy.Certificate) {
	t.Helper()
	b, err := os.ReadFile(recordedBoot)
	if err != nil {
		t.Fatal(err)
	}
	var vd appraisal.Verdict
	if err := json.Unmarshal(b, &vd); err != nil {
		t.Fatalf("%s: %v", recordedBoot, err)
	}
	for _, c := range vd.Components {
		cert := policy.Certificate{SHA256: c.AuthoritySHA256, Subject: c.Authority}
		switch c.Authority {
		case "Microsoft Corporation UEFI CA 2011":
			msUEFICA = cert
		case "Debian Secure Boot CA":
			debianCA = cert
		}
	}
	if msUEFICA.SHA256 == "" || debianCA.SHA256 == "" {
		t.Fatalf("%s: no authority of Microsoft's UEFI CA and Debian's Secure Boot CA among its components", recordedBoot)
	}
	return msUEFICA, debianCA
}

// rulesPolicy is a Debian fleet's policy without a golden host: boot
// loaders signed by Microsoft or Debian, kernels by Debian, SbatLevel
// revoking shim and GRUB at least to generation 4, root= per host and
// init= forbidden, and deny, if set, a kernel image's SHA-256.
func rulesPolicy(t *testing.T, deny string) *policy.Policy {
	msUEFICA, debianCA := debianSigners(t)
	p := policy.Default()
	p.PCRsIgnore = []int{10} // IMA's, as setPolicy
	kernel := policy.SignerRule{Certificates: []policy.Certificate{debianCA}}
	if deny != "" {
		kernel.Deny = []policy.Denied{{Reference: policy.Reference{SHA256: deny, Label: "recalled kernel"}}}
	}
	p.Signers = policy.SignerRules{
		policy.ClassBootloader: {Certificates: []policy.Certificate{msUEFICA, debianCA}},
		policy.ClassKernel:     kernel,
	}
	p.SbatMinimum = policy.SbatMinimum{"shim": 4, "grub": 4}
	p.Cmdline = policy.CmdlineRules{Forbidden: []string{"init=", "rd.break", "single"}, PerHost: []string{"root=", "resume="}}
	return p
}

// TestSignerAndCmdlineRules boots two guests (each its own TPM) of one
// group whose policy has signer, SBAT and command-line rules and no
// reference digest, and checks what an operator would see:
//
//  1. guest 1, the current signed Debian kernel, root=UUID=1111...: Passed,
//     its kernel "signed by Debian Secure Boot CA (signer rule; ...)".
//  2. guest 2, the other signed Debian kernel apt knows (the current one
//     where there is none), root=UUID=2222...: Passed.
//  3. the policy denies guest 1's kernel image; guest 1 boots it again:
//     Failed, reference.denied, naming the kernel and the deny entry.
//  4. guest 2 booted with init=/bin/sh: Failed, cmdline.forbidden naming
//     init=/bin/sh.
func TestSignerAndCmdlineRules(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	kernelPkg := kernelPackage(t, "")
	kA := fetchKernel(t, kernelPkg)
	kB := kA
	if other := otherKernelPackage(t, kernelPkg); other != "" {
		kB = fetchKernel(t, other)
	} else {
		t.Logf("apt knows only one signed kernel (%s): both guests boot it", kernelPkg)
	}
	initrds := map[string]string{}
	esp := func(name string, k kernel, cmdline string) string {
		if initrds[k.version] == "" {
			initrds[k.version] = buildInitramfs(t, k, dir, "initrd-"+k.version+".img", nil)
		}
		out := filepath.Join(dir, name)
		buildESP(t, espParts{k: k, initrd: initrds[k.version], cmdlineExtra: cmdline}, out)
		return out
	}
	setup := makeTPMCA(t, dir)
	g1 := guest{name: "qemu-rules-1", tpm: filepath.Join(dir, "tpm-1"), secureBoot: true,
		esp: esp("esp-1.img", kA, "root=UUID=11111111-1111-4111-8111-111111111111")}
	g2 := guest{name: "qemu-rules-2", tpm: filepath.Join(dir, "tpm-2"), secureBoot: true,
		esp: esp("esp-2.img", kB, "root=UUID=22222222-2222-4222-8222-222222222222")}
	makeTPM(t, setup, g1.tpm, "sha256")
	makeTPM(t, setup, g2.tpm, "sha256")
	ekRoots := filepath.Join(dir, "ek-roots")
	copyTPMCA(t, dir, ekRoots) // made by the first swtpm_setup

	v := startVerifier(t, dir, ekRoots)
	v.putPolicy(t, rulesPolicy(t, ""))

	v.bootAndJudge(t, dir, g1, "rules boot 1, kernel "+kA.version+", no reference values")
	v.wantPassedBySigner(t, g1.name)
	v.bootAndJudge(t, dir, g2, "rules boot 2, kernel "+kB.version+", another root=")
	v.wantPassedBySigner(t, g2.name)

	image := kernelImage(t, v.verdict(t, g1.name))
	v.putPolicy(t, rulesPolicy(t, image))
	v.bootAndJudge(t, dir, g1, "rules boot 3, its kernel denied")
	v.wantHeadline(t, g1.name, appraisal.CodeRefDenied, "/vmlinuz (EFI image)", "recalled kernel", image)

	g2.esp = esp("esp-shell.img", kB, "root=UUID=22222222-2222-4222-8222-222222222222 init=/bin/sh")
	v.bootAndJudge(t, dir, g2, "rules boot 4, init=/bin/sh")
	v.wantHeadline(t, g2.name, appraisal.CodeCmdlineForbidden, "init=/bin/sh", "init=/bin/sh, which the policy forbids (init=)", "init=/bin/sh")
}

// wantPassedBySigner requires a Passed host whose kernel images passed the
// signer rule, and whose command line passed the command-line rules.
func (v *verifier) wantPassedBySigner(t *testing.T, name string) {
	t.Helper()
	if h := v.host(t, name); h.Status != "Passed" {
		t.Fatalf("%s: %s (%s: %s), want Passed by the signer rules; failed checks:\n%s",
			name, h.Status, h.ReasonCode, h.Reason, describeChecks(v.verdict(t, name).Failures()))
	}
	images, cmdlines := 0, 0
	for _, c := range v.verdict(t, name).Components {
		switch {
		case c.Class == policy.ClassKernel && c.PCR == 4:
			images++
			if !c.Judged || !strings.Contains(c.Reference, "signed by Debian Secure Boot CA (signer rule") {
				t.Errorf("%s: kernel %q judged %v, matched %q; want the Debian signer rule", name, c.Name, c.Judged, c.Reference)
			}
		case c.Class == policy.ClassBootOptions:
			cmdlines++
			if !c.Judged || c.Reference != "satisfies the command-line rules" || !strings.Contains(c.Name, "root=UUID=") {
				t.Errorf("%s: boot options %q judged %v, matched %q; want the command-line rules", name, c.Name, c.Judged, c.Reference)
			}
		}
	}
	if images == 0 || cmdlines == 0 {
		t.Errorf("%s: %d kernel images, %d command lines judged; want some of each", name, images, cmdlines)
	}
}

// wantHeadline requires a Failed host headed by code (its reason_code and
// the verdict's headline), whose reason says says, and whose headline
// check is about component and found found.
func (v *verifier) wantHeadline(t *testing.T, name, code, component, says, found string) {
	t.Helper()
	h := v.host(t, name)
	hc := v.verdict(t, name).Headline()
	if h.Status != "Failed" || h.ReasonCode != code || hc == nil {
		t.Fatalf("%s: %s (%s: %s), want Failed with %s", name, h.Status, h.ReasonCode, h.Reason, code)
	}
	t.Logf("%s: headline check %s", name, describeCheck(*hc))
	if !strings.Contains(h.Reason, says) || !strings.Contains(hc.Component, component) || hc.Found != found {
		t.Errorf("%s: reason %q, headline about %q found %q; want it to say %q about %q, found %q", name, h.Reason, hc.Component, hc.Found, says, component, found)
	}
}

// kernelImage is the SHA-256 of the kernel image shim verified (PCR 4),
// as the verdict shows it.
func kernelImage(t *testing.T, vd *appraisal.Verdict) string {
	t.Helper()
	for _, c := range vd.Components {
		if c.Class == policy.ClassKernel && c.PCR == 4 && c.Digests["sha256"] != "" {
			return c.Digests["sha256"]
		}
	}
	t.Fatalf("no kernel image among the components:\n%s", describeComponents(vd.Components))
	return ""
}
