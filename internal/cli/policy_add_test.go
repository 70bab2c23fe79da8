package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/measure"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
)

// TestPolicyAdd runs 'bootproof policy add' against a verifier: the
// group's policy gains one reference per measurement of each file, with
// the file's digests and label; a second run adds nothing; --dry-run and
// a file of the wrong class change nothing.
func TestPolicyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("cli: runs a verifier; skipped with -short")
	}
	env := servertest.Start(t)
	ctx := context.Background()
	if err := env.Server.Verifier.PutPolicy(ctx, "test", "fleet", policy.Default()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := writeTestFile(t, filepath.Join(dir, "ca.pem"), env.CAPEM)
	conn := []string{"--url", env.URL, "--token", env.Token(auth.Admin), "--ca", ca}
	kernel := testKernel(t, dir, "6.1.0-99-test (builder@example.org) #1 SMP")
	initrd := writeTestFile(t, filepath.Join(dir, "initrd.img-6.1.0-99-test"), []byte("070701 an initramfs"))
	cfg := writeTestFile(t, filepath.Join(dir, "grub.cfg"), []byte("linux /vmlinuz ro\n"))
	files := []string{"--kernel", kernel, "--initrd", initrd, "--grub-config", cfg}
	add := func(args ...string) (int, string, string) {
		return runBootproof(t, append(append([]string{"policy", "add", "fleet"}, args...), conn...)...)
	}
	refs := func() policy.References {
		p, err := env.Server.Verifier.Policy(ctx, "fleet")
		if err != nil {
			t.Fatal(err)
		}
		return p.References
	}

	if code, out, errs := add(append(files, "--dry-run")...); code != 0 || !strings.Contains(out, "dry run: 3 reference values not added") {
		t.Fatalf("--dry-run: exit %d\n%s%s", code, out, errs)
	}
	if r := refs(); len(r.Kernel)+len(r.Initrd)+len(r.BootConfig) != 0 {
		t.Fatalf("--dry-run changed the policy: %+v", r)
	}
	code, out, errs := add(files...)
	if code != 0 || !strings.Contains(out, "3 reference values added") {
		t.Fatalf("policy add: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("policy add:\n%s", out)
	want := []struct {
		class, file, label string
	}{
		{policy.ClassKernel, kernel, "Linux 6.1.0-99-test"},
		{policy.ClassInitrd, initrd, "initrd.img-6.1.0-99-test"},
		{policy.ClassBootConfig, cfg, "grub.cfg"},
	}
	r := refs()
	for _, w := range want {
		got := r.Class(w.class)
		if len(got) != 1 || got[0].Label != w.label || got[0].SHA256 != fileSHA256(t, w.file) || got[0].SHA512 == "" || got[0].SHA1 == "" {
			t.Errorf("%s references %+v, want one labelled %q with the file's digests in every bank", w.class, got, w.label)
		}
	}

	if code, out, errs := add(files...); code != 0 || !strings.Contains(out, "nothing to add") || strings.Count(out, "already allowed") != 3 {
		t.Errorf("policy add again: exit %d, want nothing added\n%s%s", code, out, errs)
	}
	if r2 := refs(); len(r2.Kernel) != 1 || len(r2.Initrd) != 1 || len(r2.BootConfig) != 1 {
		t.Errorf("policy add again added duplicates: %+v", r2)
	}

	if code, _, errs := add("--bootloader", kernel); code != 1 || !strings.Contains(errs, "--bootloader") || !strings.Contains(errs, "not bootloader") {
		t.Errorf("a kernel as --bootloader: exit %d %q, want a refusal naming the flag and the class", code, errs)
	}
	if len(refs().Bootloader) != 0 {
		t.Error("a refused file changed the policy")
	}
}

// TestPolicyAddEFIImages adds Debian's signed shim as a boot loader and
// refuses it as a kernel: the reference is its Authenticode digest
// labelled with its SBAT, as the boot measures it.
func TestPolicyAddEFIImages(t *testing.T) {
	b := readDebianShim(t)
	m, err := measure.File(b)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := m.Measurement(measure.PCRImages)
	env := servertest.Start(t)
	ctx := context.Background()
	if err := env.Server.Verifier.PutPolicy(ctx, "test", "fleet", policy.Default()); err != nil {
		t.Fatal(err)
	}
	ca := writeTestFile(t, filepath.Join(t.TempDir(), "ca.pem"), env.CAPEM)
	conn := []string{"--url", env.URL, "--token", env.Token(auth.Admin), "--ca", ca}
	if code, _, errs := runBootproof(t, append([]string{"policy", "add", "fleet", "--kernel", debianShim}, conn...)...); code != 1 || !strings.Contains(errs, "not kernel") {
		t.Errorf("shim as --kernel: exit %d %q, want a refusal", code, errs)
	}
	mustRun(t, append([]string{"policy", "add", "fleet", "--bootloader", debianShim}, conn...)...)
	p, err := env.Server.Verifier.Policy(ctx, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	got := p.References.Bootloader
	if len(got) != 1 || got[0].SHA256 != img.Digests.SHA256 || got[0].Label != m.Label || !strings.HasPrefix(got[0].Label, "shim ") {
		t.Errorf("boot loader references %+v, want shim's Authenticode digest %s labelled %q", got, img.Digests.SHA256, m.Label)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
