// Package ima reads the Linux kernel's IMA measurement list
// (binary_runtime_measurements) and proves it: it parses the entries of the
// IMA templates, replays them to PCR 10 in every bank, and checks the first
// entry, boot_aggregate, against the quoted boot PCRs, so that the runtime
// log is bound to the boot that bootproof already judged.
//
// Its one job is to say which entries of an untrusted log the quoted PCRs
// prove; what those entries mean for a host (the runtime policy) is judged
// elsewhere. The log is untrusted input: Parse checks its framing within
// fixed bounds (MaxEntrySize, MaxEntries) and answers bad input with a
// *ParseError naming the entry and byte offset, never a panic.
//
// Logs grow for as long as a host runs, so everything here is incremental:
// ParseAt starts at a known entry index and byte offset, and State.Prove
// starts from the PCR values and entry count a verifier kept from the last
// attestation and consumes only the new entries.
//
// The layout follows the kernel (security/integrity/ima/ima_fs.c,
// ima_template.c, ima_template_lib.c, ima_api.c, ima_crypto.c). It is pure:
// no network, storage, TPM device, logging or clock.
package ima
