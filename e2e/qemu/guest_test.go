package qemu

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kernelMeta is Debian's package that always depends on the current signed
// cloud kernel (the smallest kernel with the TPM drivers built in).
const kernelMeta = "linux-image-cloud-amd64"

// guestModules are the kernel modules the guest loads, in load order:
// fw_cfg (the test's settings) and virtio-net (the network to the
// verifier). The TPM drivers (tpm_tis, tpm_crb) are built into this kernel.
var guestModules = []string{"qemu_fw_cfg", "virtio_ring", "virtio", "virtio_pci_legacy_dev",
	"virtio_pci_modern_dev", "virtio_pci", "failover", "net_failover", "virtio_net"}

// kernel is an unpacked Debian kernel package.
type kernel struct {
	version string
	vmlinuz string
	modules string // lib/modules/VERSION/kernel
}

// cacheDir holds downloaded packages between runs: BOOTPROOF_QEMU_CACHE,
// else the user's cache folder.
func cacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("BOOTPROOF_QEMU_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "bootproof-qemu-cache")
	}
	return filepath.Join(d, "bootproof-qemu")
}

var dependsRE = regexp.MustCompile(`(?m)^\s*Depends: (linux-image-[0-9][^\s]*-cloud-amd64)\s*$`)

// kernelPackage names the signed kernel package that kernelMeta depends on
// in its version ver ("" for apt's candidate, the current kernel).
func kernelPackage(t *testing.T, ver string) string {
	t.Helper()
	meta := kernelMeta
	if ver != "" {
		meta += "=" + ver
	}
	out, err := exec.Command("apt-cache", "depends", meta).CombinedOutput()
	m := dependsRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("qemu: apt-cache does not know %s (run apt-get update): %v\n%s", meta, err, out)
	}
	return string(m[1])
}

// otherKernelPackage names a signed kernel package that another version
// of kernelMeta depends on (bookworm's when the current kernel is
// bookworm-security's, say), or "" when apt knows only one.
func otherKernelPackage(t *testing.T, current string) string {
	t.Helper()
	out, err := exec.Command("apt-cache", "madison", kernelMeta).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu: apt-cache madison %s: %v\n%s", kernelMeta, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 || strings.TrimSpace(f[0]) != kernelMeta {
			continue
		}
		if pkg := kernelPackage(t, strings.TrimSpace(f[1])); pkg != current {
			return pkg
		}
	}
	return ""
}

// fetchKernel downloads a signed cloud kernel package (such as
// linux-image-6.1.0-57-cloud-amd64) with apt-get download and unpacks it
// with dpkg -x into the cache: it is never installed.
func fetchKernel(t *testing.T, pkg string) kernel {
	t.Helper()
	version := strings.TrimPrefix(pkg, "linux-image-")
	root := filepath.Join(cacheDir(t), pkg)
	k := kernel{version: version, vmlinuz: filepath.Join(root, "boot", "vmlinuz-"+version),
		modules: filepath.Join(root, "lib", "modules", version, "kernel")}
	if _, err := os.Stat(k.vmlinuz); err == nil {
		return k
	}
	dl := filepath.Join(cacheDir(t), "download")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("apt-get", "download", "-q", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu: apt-get download %s: %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) == 0 {
		t.Fatalf("qemu: apt-get download %s left no .deb in %s", pkg, dl)
	}
	tmp := root + ".partial"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg", "-x", debs[len(debs)-1], tmp).CombinedOutput(); err != nil {
		t.Fatalf("qemu: dpkg -x %s: %v\n%s", debs[len(debs)-1], err, out)
	}
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	os.Remove(debs[len(debs)-1])
	if _, err := os.Stat(k.vmlinuz); err != nil {
		t.Fatalf("qemu: %s holds no kernel: %v", pkg, err)
	}
	return k
}

// buildInitramfs makes the guest's initramfs dir/name: busybox, the static
// bootproof, k's modules, testdata/init and the extra files (path in the
// initramfs to content), as a gzipped newc cpio archive.
func buildInitramfs(t *testing.T, k kernel, dir, name string, extra map[string]string) string {
	t.Helper()
	root := filepath.Join(dir, name+".d")
	for _, d := range []string{"bin", "modules"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, "testdata/init", filepath.Join(root, "init"), 0o755)
	copyFile(t, busyboxBin, filepath.Join(root, "bin", "busybox"), 0o755)
	copyFile(t, bootproofBin, filepath.Join(root, "bin", "bootproof"), 0o755)
	found := map[string]string{}
	err := filepath.WalkDir(k.modules, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		for _, ext := range []string{".ko", ".ko.xz"} {
			if strings.HasSuffix(name, ext) {
				found[strings.TrimSuffix(name, ext)] = p
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("qemu: kernel modules: %v", err)
	}
	for _, m := range guestModules {
		p, ok := found[m]
		if !ok {
			t.Fatalf("qemu: kernel %s has no module %s", k.version, m)
		}
		dst := filepath.Join(root, "modules", m+".ko")
		if strings.HasSuffix(p, ".xz") {
			// busybox's insmod takes plain modules; the signature is
			// inside the uncompressed file, so it survives.
			run(t, "", "sh", "-c", `xz -dc "$1" >"$2"`, "sh", p, dst)
		} else {
			copyFile(t, p, dst, 0o644)
		}
	}
	writeFile(t, filepath.Join(root, "modules", "order"), strings.Join(guestModules, "\n")+"\n")
	for p, content := range extra {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, p), content)
	}
	img := filepath.Join(dir, name)
	run(t, root, "sh", "-c", `find . | cpio -o -H newc --quiet | gzip -1 >"$1"`, "sh", img)
	return img
}

// espParts are what an EFI system partition holds besides shim and GRUB.
type espParts struct {
	k      kernel
	initrd string
	// cmdlineExtra is added to the kernel command line; cfgExtra is a
	// line added at the end of grub.cfg (a comment changes the file, and
	// so its PCR 9 digest, and no command GRUB runs).
	cmdlineExtra, cfgExtra string
}

// buildESP makes an EFI system partition image with mtools, mounting
// nothing: shim as the removable-media boot loader, GRUB beside it (where
// shim looks), GRUB's configuration where Debian's signed GRUB looks, the
// kernel and the initramfs.
func buildESP(t *testing.T, parts espParts, out string) {
	t.Helper()
	cfg, err := os.ReadFile("testdata/grub.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.ReplaceAll(cfg, []byte(" CMDLINE_EXTRA"), []byte(strings.TrimRight(" "+parts.cmdlineExtra, " ")))
	if parts.cfgExtra != "" {
		cfg = append(cfg, parts.cfgExtra+"\n"...)
	}
	k, initrd := parts.k, parts.initrd
	grubCfg := out + ".grub.cfg"
	writeFile(t, grubCfg, string(cfg))
	var size int64 = 8 << 20 // FAT overhead and slack
	for _, p := range []string{shimEFI, grubEFI, k.vmlinuz, initrd} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	run(t, "", "mkfs.vfat", "-C", "-n", "BOOTPROOF", out, fmt.Sprint(size>>10))
	run(t, "", "mmd", "-i", out, "::/EFI", "::/EFI/BOOT", "::/EFI/debian")
	for _, c := range [][2]string{
		{shimEFI, "::/EFI/BOOT/BOOTX64.EFI"},
		{grubEFI, "::/EFI/BOOT/grubx64.efi"},
		{grubCfg, "::/EFI/debian/grub.cfg"},
		{k.vmlinuz, "::/vmlinuz"},
		{initrd, "::/initrd.img"},
	} {
		run(t, "", "mcopy", "-i", out, c[0], c[1])
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
