package appraisal

import (
	"slices"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// TestLoggedOnceAuthorities: an image without an authority event of its
// own is given the certificate that verified it only when one certificate
// can have been it; otherwise it shows no authority rather than a guess.
func TestLoggedOnceAuthorities(t *testing.T) {
	img := func(i int) eventlog.Event {
		return eventlog.Event{Index: i, PCR: 4, Type: eventlog.EvEFIBootServicesApplication, Data: memoryImage(1)}
	}
	sep := eventlog.Event{Index: 1, PCR: 4, Type: eventlog.EvSeparator, Data: separator}
	mokSB := eventlog.Event{Index: 9, PCR: 14, Type: eventlog.EvIPL, Data: []byte("MokSBState\x00")}
	msCA, debian, other := &uefi.Cert{SHA256: [32]byte{1}}, &uefi.Cert{SHA256: [32]byte{2}}, &uefi.Cert{SHA256: [32]byte{3}}
	au := func(ev int, variable string, c *uefi.Cert) uefi.Authority {
		return uefi.Authority{Event: ev, Variable: variable, Cert: c, AfterSeparator: true}
	}
	// shim (image 3, verified by the firmware with msCA), GRUB (image 5,
	// shim's MokListRT entry logged at 4), the kernel (image 7).
	shimBoot := []eventlog.Event{sep, img(3), img(5), img(7)}
	shimAuths := []uefi.Authority{au(2, "db", msCA), au(4, "MokListRT", debian)}
	tests := []struct {
		name   string
		events []eventlog.Event
		auths  []uefi.Authority
		want   map[int]*uefi.Cert
	}{
		{"the kernel has shim's one certificate", shimBoot, shimAuths, map[int]*uefi.Cert{7: debian}},
		{"SbatLevel is no candidate", shimBoot, append(shimAuths, au(6, "SbatLevel", nil)), map[int]*uefi.Cert{7: debian}},
		// The kernel logged twice (shim's check, then the firmware's
		// load): image 9 has no authority of its own, and the loader has
		// logged two certificates, so which one verified it is unknown.
		{"two loader certificates: no guess", append(slices.Clone(shimBoot), img(9)), append(shimAuths, au(6, "MokListRT", other)), nil},
		{"a hash authority: no guess", shimBoot, append(shimAuths, au(6, "db", nil)), nil},
		{"MokSBState measured: maybe not verified", append(shimBoot, mokSB), shimAuths, nil},
		{"firmware verified all: its one certificate", []eventlog.Event{sep, img(3), img(5)}, shimAuths[:1], map[int]*uefi.Cert{5: msCA}},
		{"no authority at all (Secure Boot off)", shimBoot, nil, nil},
		{"one image: nothing to infer", []eventlog.Event{sep, img(3)}, shimAuths[:1], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			own := imageAuthorities(tt.events, tt.auths)
			got := loggedOnceAuthorities(tt.events, tt.auths, own)
			if len(got) != len(tt.want) {
				t.Fatalf("inferred %v, want %v", got, tt.want)
			}
			for im, c := range tt.want {
				if got[im] != c {
					t.Errorf("image %d: inferred %v, want %v", im, got[im], c)
				}
			}
		})
	}
}
