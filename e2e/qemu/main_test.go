package qemu

import (
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// bootproofBin is a static bootproof: the same file runs the verifier on this
// machine and the agent in the guest, whose initramfs has no C library.
var (
	bootproofBin string
	buildErr     error
)

// tools are the commands the test runs, with the Debian package of each.
var tools = []struct{ cmd, pkg string }{
	{"qemu-system-x86_64", "qemu-system-x86"},
	{"swtpm", "swtpm"},
	{"swtpm_setup", "swtpm-tools"},
	{"swtpm_localca", "swtpm-tools"},
	{"mkfs.vfat", "dosfstools"},
	{"mmd", "mtools"},
	{"mcopy", "mtools"},
	{"cpio", "cpio"},
	{"gzip", "gzip"},
	{"dpkg", "dpkg"},
	{"apt-get", "apt"},
	{"apt-cache", "apt"},
}

// Files the guest is made of, with the Debian package of each.
const (
	ovmfCodeSecure = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	ovmfVarsMS     = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" // Microsoft's keys enrolled: Secure Boot on
	ovmfCode       = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars       = "/usr/share/OVMF/OVMF_VARS_4M.fd" // no keys: Secure Boot off
	shimEFI        = "/usr/lib/shim/shimx64.efi.signed"
	grubEFI        = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
	busyboxBin     = "/bin/busybox"
)

var files = []struct{ path, pkg string }{
	{ovmfCodeSecure, "ovmf"}, {ovmfVarsMS, "ovmf"}, {ovmfCode, "ovmf"}, {ovmfVars, "ovmf"},
	{shimEFI, "shim-signed"}, {grubEFI, "grub-efi-amd64-signed"}, {busyboxBin, "busybox-static"},
}

func TestMain(m *testing.M) {
	flag.Parse() // for testing.Short
	dir, err := os.MkdirTemp("", "bootproof-qemu-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !testing.Short() && qemuPath() != "" {
		bootproofBin, buildErr = buildStatic(dir)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func qemuPath() string {
	p, _ := exec.LookPath("qemu-system-x86_64")
	return p
}

// buildStatic builds bootproof linked statically. The TPM simulator in it is
// C (cgo), so CGO_ENABLED=0 is not an option: the external linker links the
// C library and OpenSSL's libcrypto statically instead, and the netgo and
// osusergo tags keep glibc's name service (which cannot be linked
// statically) out.
func buildStatic(dir string) (string, error) {
	out := filepath.Join(dir, "bootproof")
	cmd := exec.Command("go", "build", "-o", out, "-tags", "netgo,osusergo",
		"-ldflags", "-s -w -linkmode external -extldflags -static", "github.com/bootproof/bootproof/cmd/bootproof")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build static bootproof: %v\n%s", err, b)
	}
	if !isStatic(out) {
		return "", fmt.Errorf("build static bootproof: %s is dynamically linked", out)
	}
	return out, nil
}

// isStatic reports whether an ELF executable has no program interpreter,
// that is, needs no dynamic loader.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// requireTools skips the test where QEMU is not installed, and fails it,
// naming the packages to install, where QEMU is but other parts are not.
func requireTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("qemu: skipped with -short")
	}
	if qemuPath() == "" {
		t.Skip("qemu: qemu-system-x86_64 is not installed; to run this test: apt-get install qemu-system-x86 ovmf swtpm swtpm-tools " +
			"shim-signed grub-efi-amd64-signed busybox-static mtools dosfstools cpio (as .ci/run does)")
	}
	missing := map[string]bool{}
	for _, tl := range tools {
		if _, err := exec.LookPath(tl.cmd); err != nil {
			missing[tl.pkg] = true
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f.path); err != nil {
			missing[f.pkg] = true
		}
	}
	if !missing["busybox-static"] && !isStatic(busyboxBin) {
		missing["busybox-static"] = true
	}
	if len(missing) > 0 {
		var pkgs []string
		for p := range missing {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		t.Fatalf("qemu: QEMU is installed but these packages are missing: apt-get install %s", strings.Join(pkgs, " "))
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}
