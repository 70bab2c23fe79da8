package demo

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/emuhost"
)

// member is one emulated host of the demo fleet.
type member struct {
	Name    string
	Profile emuhost.Profile
}

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
		out = append(out, member{Name: fmt.Sprintf("esx-%02d-%s", i+1, p), Profile: p})
	}
	return out
}
