// Package measure computes what a boot measures for a file, so that a
// group's reference values can come from the files a vendor ships (a
// signed shim, GRUB, a kernel package) instead of from a golden host.
//
// Firmware and shim extend the Authenticode digest of each EFI image they
// start into PCR 4 (TCG PC Client Platform Firmware Profile; the PE/COFF
// specification's Authenticode hashing); GRUB extends the plain digest of
// each file it reads (the kernel, the initramfs, grub.cfg) into PCR 9. The
// package computes both in every bank a TPM may have, and reads a label
// from the file: a Linux kernel's version string from its x86 boot header,
// shim's and GRUB's .sbat section.
//
// It is pure: bytes in, digests out. Bad input is a *FormatError naming
// the offset, never a panic (FuzzFile).
package measure
