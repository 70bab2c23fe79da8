package appraisal

import "strings"

// Headline is the one reason a Failed verdict is shown by: the verifier
// stores it as the host's reason code and sentence, and every surface (the
// report in all formats, hosts list, the web page, webhooks, trust tokens,
// the placement gate, bootproof appraise) shows that stored headline, with
// every failed check still listed below it. It is nil when no check failed.
//
// The ranking answers what an operator fixing a failed host at 3 a.m.
// should look at first: the failure that, once fixed, most likely explains
// the others, and the one that is most dangerous to leave.
//  1. Evidence that is not authentic (evidence, TPM family, quote, event
//     log): nothing else in it can be believed, so any other reason may be a
//     lie; this is an attack or a broken agent, never a routine change.
//  2. Foreign code that ran (a boot loader, kernel or initramfs not in the
//     references nor passed by a signer rule) and a build the policy
//     denies (reference.denied, checked first): someone else's code had
//     the machine, whatever Secure Boot said. Among these the check order
//     (policy.Classes) puts the kernel before the initramfs: a new kernel
//     brings a new initramfs.
//  3. Bad bundles (unsigned, untrusted, below the acceptance level, not
//     matching what was measured), which say more than "this module is not a
//     reference" (the module mismatch is ranked after them).
//  4. Secure Boot off or its variables not as the policy wants, and an
//     SbatLevel below the policy's minimum (secureboot.sbat_level).
//  5. The firmware measurements and the boot options, with the
//     command-line rules (cmdline.*, checked before the references, so a
//     forbidden argument heads the verdict its changed command line also
//     fails): they change with the Secure Boot setting (OVMF measures
//     other firmware volumes with Secure Boot off; ESXi's boot options
//     carry it) and so mostly echo it.
//  6. Last what the boot loader read and ran (boot_config: grub.cfg and
//     the other files; boot_commands: GRUB's commands, in that order): a
//     new kernel or kernel command line changes grub.cfg and GRUB's
//     `linux` command too, so these echo the change ranked above them, and
//     are the headline only when nothing else changed (grub.cfg edited
//     with the same command line).
//
// Checks of equal rank keep the appraisal's order, so the pick is stable.
func (v *Verdict) Headline() *Check {
	var best *Check
	for i := range v.Checks {
		c := &v.Checks[i]
		if !c.Passed && (best == nil || headlineRank(c.Code) < headlineRank(best.Code)) {
			best = c
		}
	}
	return best
}

// headlineRank orders failure codes for Headline, lowest first. A code of
// a class not known here (a new check) ranks after all known ones; it
// still becomes the headline when it is the only failure.
func headlineRank(code string) int {
	switch code {
	case CodeRefModule:
		return 5
	case CodeRefFirmware, CodeRefBootOptions, CodeCmdlineRequired, CodeCmdlineForbidden, CodeCmdlineUnproven:
		return 7
	case CodeRefBootConfig, CodeRefBootCommands:
		return 8
	}
	prefix, _, _ := strings.Cut(code, ".")
	switch prefix {
	case "evidence", "tpm":
		return 0
	case "quote":
		return 1
	case "eventlog":
		return 2
	case "reference":
		return 3
	case "bundle":
		return 4
	case "secureboot":
		return 6
	}
	return 9
}
