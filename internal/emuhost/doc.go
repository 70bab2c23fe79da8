// Package emuhost is an emulated host's boot chain, modelled on ESXi 6.7,
// run against a real TPM 2.0 (the TCG reference TPM through package tpm):
// UEFI firmware, boot loader (the vmkboot role), and the kernel's Secure
// Boot verifier of installed bundles. Each stage measures the next into every
// active PCR bank and logs the event in the crypto-agile format of the TCG PC
// Client Platform Firmware Profile (PFP), with eventlog.Writer. Every event
// extends exactly the digests it logs, so the log replays to the PCRs.
//
// What it trusts: it is the attester's side of a demo, not a verifier, so it
// trusts its own vendors (Vendors) and the TPM it is given. What it produces
// (log, bundles) is the untrusted evidence a verifier must check.
//
// Where things are measured:
//
//	PCR  event type                        data logged                       digest of
//	0    EV_S_CRTM_VERSION                 firmware version, UTF-16LE + NUL  the data
//	0    EV_EFI_PLATFORM_FIRMWARE_BLOB     UEFI_PLATFORM_FIRMWARE_BLOB       the firmware image
//	1    EV_EFI_VARIABLE_BOOT              BootOrder, Boot0000 (UEFI_VARIABLE_DATA) the variable's data (as EDK2)
//	7    EV_EFI_VARIABLE_DRIVER_CONFIG     SecureBoot, PK, KEK, db, dbx      the UEFI_VARIABLE_DATA
//	4    EV_EFI_ACTION                     "Calling EFI Application from Boot Option"
//	0-7  EV_SEPARATOR                      00 00 00 00                       the data
//	7    EV_EFI_VARIABLE_AUTHORITY         db entry (EFI_SIGNATURE_DATA) that authorised the loader; Secure Boot on only
//	4    EV_EFI_BOOT_SERVICES_APPLICATION  UEFI_IMAGE_LOAD_EVENT             the boot loader image
//	8    EV_IPL                            "grub_cmd: source /boot.cfg"     the text after "grub_cmd: "
//	9    EV_IPL                            "/boot.cfg"                       the loader's configuration (kernel and modules)
//	8    EV_IPL                            "grub_cmd: multiboot2 <kernel file> <options>"
//	9    EV_IPL                            "/boot/vmkernel-<version>"        the kernel image
//	8    EV_IPL                            "kernel_cmdline: <kernel file> <options>" (has secureBoot=TRUE|FALSE)  the text after the prefix
//	8    EV_IPL                            "grub_cmd: module2 /bundles/<bundle>/<payload>"  per module
//	9    EV_IPL                            "/bundles/<bundle>/<payload>"     the payload's bytes
//	8    EV_IPL                            "module_cmdline: /bundles/<bundle>/<payload>"
//	8    EV_IPL                            "grub_cmd: boot"
//	5    EV_EFI_ACTION                     "Exit Boot Services Invocation", "... Returned with Success"
//
// The boot loader measures as GRUB does when it boots a multiboot kernel
// with modules (grub-core/commands/tpm.c: commands and command lines into
// PCR 8, each hashed without its prefix and logged with a NUL; the files it
// reads into PCR 9, logged by path), so a verifier judges the emulated
// chain with the rules of a real one. Modules are the payloads of the
// installed bundles, bundle by bundle in name order and payload by payload
// in descriptor order; a module's SHA-256 and SHA-512 digests equal its
// descriptor's. The loader measures them; the kernel verifies their
// bundles after it starts (measure, then verify).
//
// With Secure Boot on, the firmware halts when the boot loader's signer is
// not in db or its hash is in dbx; the boot loader halts when the kernel is
// not signed by the OS vendor; the kernel halts when a bundle's chain does
// not end at the OS vendor's root or a payload differs from its descriptor.
// A halted boot leaves the events measured so far and a *HaltError.
//
// Images are deterministic bytes made from a name and version; all keys come
// from Vendors, deterministic (DefaultVendors) or kept in a state directory
// (LoadOrCreateVendors), so identities are stable across runs. UEFI
// structures are encoded privately (uefi.go), citing the specs.
package emuhost
