package bootview

import (
	"github.com/bootproof/bootproof/internal/policy"
)

// Class codes the appraisal may give beside policy.Classes. They are named
// here so that the page shows a readable stage for them as soon as the
// appraisal starts emitting them.
const (
	classInitrd       = "initrd"
	classBootConfig   = "boot_config"
	classBootCommands = "boot_commands"
)

// stageNames are the classes as people call them.
var stageNames = map[string]string{
	policy.ClassFirmware:    "firmware",
	policy.ClassBootloader:  "boot loader",
	policy.ClassKernel:      "kernel",
	policy.ClassBootOptions: "kernel command line",
	policy.ClassModules:     "boot module",
	classInitrd:             "initramfs",
	classBootConfig:         "GRUB config file",
	classBootCommands:       "GRUB command",
}

// StageName is a class as people call it; a class this package does not
// know is shown by its code, never dropped.
func StageName(class string) string {
	if n, ok := stageNames[class]; ok {
		return n
	}
	return class
}

// Wording shared by every surface.
const (
	unprovenMark = " (label from the host, unproven)"
	withheldName = "name withheld: data did not match its digest"
	noName       = "(no name)"
)

// Name is an event's name as shown: marked when only the host vouches for
// it, withheld when its data did not match its digest (so that text the
// host edited is never shown as found).
func Name(name string, proven bool) string {
	switch {
	case name == "" && !proven:
		return withheldName
	case name == "":
		return noName
	case !proven:
		return name + unprovenMark
	}
	return name
}

// Stage is one component of the boot chain, in words.
type Stage struct {
	Class string // the class code, as the policy and the API name it
	Kind  string // StageName(Class)
	Name  string // Name(component's name, proven)
	// NameProven is the component's; Withheld says Name is the
	// withheld notice, not a name.
	NameProven bool
	Withheld   bool
	PCR        int
	EventIndex int
	// Digest is the event's SHA-256 digest in hex (the strongest proven
	// bank's when SHA-256 was not proven, Bank then says which); Short
	// its first 16 digits, for tables.
	Bank   string
	Digest string
	Short  string
	// VerifiedBy is "verified by <subject>" when an authority verified
	// the image, else "".
	VerifiedBy string
	// Judgement says how the policy judged it; Differs is true when the
	// class was judged and no reference matched.
	Judgement string
	Differs   bool
}

// Stages words components in log order.
func Stages(cs policy.Components) []Stage {
	out := make([]Stage, 0, len(cs))
	for _, c := range cs {
		out = append(out, stage(c))
	}
	return out
}

func stage(c policy.Component) Stage {
	s := Stage{Class: c.Class, Kind: StageName(c.Class), Name: Name(c.Name, c.NameProven),
		NameProven: c.NameProven, Withheld: c.Name == "" && !c.NameProven, PCR: c.PCR, EventIndex: c.EventIndex}
	s.Bank, s.Digest = digest(c.Digests)
	s.Short = short(s.Digest)
	if c.Authority != "" {
		s.VerifiedBy = "verified by " + c.Authority
		if c.AuthorityInferred {
			s.VerifiedBy += " (inferred: that certificate is logged once per boot, for an earlier image)"
		}
	}
	s.Judgement, s.Differs = judgement(c)
	return s
}

// judgement says what the policy made of a component.
func judgement(c policy.Component) (string, bool) {
	switch {
	case !c.Judged:
		return "not judged: the policy has no reference values for " + StageName(c.Class), false
	case c.Reference != "":
		return "matches " + c.Reference, false
	}
	return "does not match any reference", true
}

// digestBanks are the banks a digest is shown from, preferred first.
var digestBanks = []string{"sha256", "sha384", "sha512", "sha1"}

func digest(ds map[string]string) (bank, hex string) {
	for _, b := range digestBanks {
		if d := ds[b]; d != "" {
			return b, d
		}
	}
	return "", ""
}

// short is a digest's first 16 hex digits, enough to tell digests apart at
// a glance; the full one is always shown beside it on demand.
func short(hex string) string {
	if len(hex) <= 16 {
		return hex
	}
	return hex[:16] + "…"
}

// CommandLines are the kernel command lines the boot measured, as shown.
func CommandLines(cs policy.Components) []string {
	var out []string
	for _, c := range cs.Class(policy.ClassBootOptions) {
		out = append(out, Name(c.Name, c.NameProven))
	}
	return out
}
