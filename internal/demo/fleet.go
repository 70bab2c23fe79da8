package demo

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/emuhost"
)

// member is one emulated host of the demo fleet.
type member struct {
	Name    string
	Profile emuhost.Profile
	// Group is the host's group: group esx, whose reference values the
	// demo learns, or secureBootOnlyGroup.
	Group string
}

// The demo's groups: esx learns its reference values from the golden
// host; esx-sb has none, so its hosts pass at trust level
// secure_boot_only, which every surface shows ("Passed (Secure Boot only:
// no reference values)").
const (
	referencesGroup     = "esx"
	secureBootOnlyGroup = "esx-sb"
)

// mix is the order profiles are handed out in: a golden host first, then
// one of every profile, then more good hosts.
var mix = []emuhost.Profile{
	"good", "good", "secureboot-off", "tampered-kernel", "rogue-bootloader", "unsigned-bundle",
	"old-kernel", "community-bundle", "tpm12", "no-tpm", "good", "good",
}

// Fleet names n hosts after their profiles: esx-01-good, esx-03-secureboot-off, ...
func Fleet(n int) []member {
	out := make([]member, 0, n)
	for i := 0; i < n; i++ {
		p := emuhost.Profile("good")
		if i < len(mix) {
			p = mix[i]
		}
		g := referencesGroup
		if i == len(mix)-2 || i == len(mix)-1 { // the last two good hosts of the mix
			g = secureBootOnlyGroup
		}
		out = append(out, member{Name: fmt.Sprintf("esx-%02d-%s", i+1, p), Profile: p, Group: g})
	}
	return out
}
