// Package qemu proves bootproof on real firmware: it boots a QEMU guest with
// OVMF (UEFI), Debian's signed shim and GRUB and a signed Debian kernel, with
// swtpm as its TPM 2.0, runs 'bootproof agent' in the guest's initramfs
// against a verifier on the test machine, and checks the verdicts the
// verifier gives to Secure Boot on and off and, once it has learnt the
// boot, to a changed kernel command line, another signed kernel, a changed
// initramfs and a changed grub.cfg (the headline's code and the component
// it names), and what a Passed host's API answer and page say booted.
// TestSignerAndCmdlineRules judges two guests by a group's signer, SBAT and
// command-line rules alone, with no golden host (rules_test.go).
//
// It trusts nothing it boots: the verifier judges the guest from its TPM
// quote and its firmware event log alone. For the test, the verifier trusts
// the EK certificates of swtpm's local CA (made fresh in the test's folder).
//
// It needs Debian's qemu-system-x86, ovmf, swtpm, swtpm-tools, shim-signed,
// grub-efi-amd64-signed, busybox-static, mtools, dosfstools and cpio (.ci/run
// installs them), and fetches the kernels of linux-image-cloud-amd64 (the
// current one and, where apt knows one, another) with apt-get download
// (unpacked with dpkg -x, never installed). Without QEMU it is skipped; with
// -short too. All of it is in _test.go files: the package has no code of its
// own.
package qemu
