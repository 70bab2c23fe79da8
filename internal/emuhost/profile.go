package emuhost

import (
	"fmt"
	"strings"

	"github.com/bootproof/bootproof/internal/tpm"
)

// Profile names a kind of emulated host: what is installed on it and which
// TPM it has.
type Profile string

// The profiles. Those that carry an attack boot with Secure Boot off by
// default, as an attacker would make them; with Secure Boot on they halt
// at the stage that catches the attack.
const (
	Good            Profile = "good"             // trusted, signed chain; Secure Boot on
	SecureBootOff   Profile = "secureboot-off"   // the good chain with Secure Boot off
	TamperedKernel  Profile = "tampered-kernel"  // kernel bytes changed after signing; the boot loader catches it
	RogueBootloader Profile = "rogue-bootloader" // boot loader signed by a key not in db; firmware catches it
	UnsignedBundle  Profile = "unsigned-bundle"  // a bundle whose chain ends at no trusted root; the kernel catches it
	OldKernel       Profile = "old-kernel"       // an older kernel, genuinely signed; only reference values catch it
	CommunityBundle Profile = "community-bundle" // a validly signed bundle of acceptance level community
	TPM12           Profile = "tpm12"            // a TPM 1.2: cannot attest
	NoTPM           Profile = "no-tpm"           // no TPM at all
)

var profiles = []struct {
	p    Profile
	desc string
}{
	{Good, "trusted, signed boot chain with Secure Boot on"},
	{SecureBootOff, "the good chain with Secure Boot off"},
	{TamperedKernel, "kernel modified after signing (Secure Boot off by default; on: the boot loader halts)"},
	{RogueBootloader, "boot loader signed by a key not in db (Secure Boot off by default; on: the firmware halts)"},
	{UnsignedBundle, "a bundle not signed by a trusted vendor (Secure Boot off by default; on: the kernel halts)"},
	{OldKernel, "an older, genuinely signed kernel with Secure Boot on: only reference values catch it"},
	{CommunityBundle, "a validly signed bundle of acceptance level community, Secure Boot on"},
	{TPM12, "a TPM 1.2 host: no TPM 2.0, cannot attest"},
	{NoTPM, "a host without a TPM: cannot attest"},
}

// Profiles lists every profile.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		out[i] = p.p
	}
	return out
}

// ParseProfile reads a profile name.
func ParseProfile(s string) (Profile, error) {
	for _, p := range profiles {
		if string(p.p) == s {
			return p.p, nil
		}
	}
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = string(p.p)
	}
	return "", fmt.Errorf("unknown host profile %q (known: %s)", s, strings.Join(names, ", "))
}

// Description says what the profile emulates.
func (p Profile) Description() string {
	for _, q := range profiles {
		if q.p == p {
			return q.desc
		}
	}
	return ""
}

// DefaultSecureBoot is whether the profile boots with Secure Boot on when
// BootConfig does not say.
func (p Profile) DefaultSecureBoot() bool {
	switch p {
	case SecureBootOff, TamperedKernel, RogueBootloader, UnsignedBundle:
		return false
	}
	return true
}

// Family is the TPM the profile's host has.
func (p Profile) Family() tpm.Family {
	switch p {
	case TPM12:
		return tpm.FamilyTPM12
	case NoTPM:
		return tpm.FamilyNone
	}
	return tpm.FamilyTPM20
}
