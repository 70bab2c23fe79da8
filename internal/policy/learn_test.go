package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hexOf(c byte, n int) string { return strings.Repeat(string([]byte{c}), 2*n) }

func TestReferenceMatches(t *testing.T) {
	comp := Component{Class: ClassKernel, Digests: map[string]string{"sha1": hexOf('1', 20), "sha256": hexOf('2', 32), "sha512": hexOf('5', 64)}}
	tests := []struct {
		name string
		ref  Reference
		want bool
	}{
		{"same sha256", Reference{SHA256: hexOf('2', 32)}, true},
		{"same sha256 and sha512", Reference{SHA256: hexOf('2', 32), SHA512: hexOf('5', 64)}, true},
		{"other sha256", Reference{SHA256: hexOf('3', 32)}, false},
		{"sha256 agrees, sha512 does not", Reference{SHA256: hexOf('2', 32), SHA512: hexOf('6', 64)}, false},
		{"sha1 alone never matches", Reference{SHA1: hexOf('1', 20)}, false},
		{"sha1 disagrees", Reference{SHA1: hexOf('9', 20), SHA256: hexOf('2', 32)}, false},
		{"no shared bank", Reference{SHA384: hexOf('4', 48)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ref.Matches(comp); got != tt.want {
				t.Errorf("Matches() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLearn(t *testing.T) {
	golden := Components{
		{Class: ClassFirmware, Name: "PCR 0 EV_S_CRTM_VERSION", PCR: 0, EventIndex: 1, Digests: map[string]string{"sha256": hexOf('a', 32)}},
		{Class: ClassBootloader, Name: `\EFI\BOOT\BOOTX64.EFI`, PCR: 4, EventIndex: 9, Digests: map[string]string{"sha1": hexOf('b', 20), "sha256": hexOf('b', 32)}},
		{Class: ClassKernel, Name: "/vmlinuz-6.7", PCR: 9, EventIndex: 12, Digests: map[string]string{"sha256": hexOf('c', 32)}},
		{Class: ClassKernel, Name: "same kernel again", PCR: 4, EventIndex: 13, Digests: map[string]string{"sha256": hexOf('c', 32)}},
		{Class: ClassModules, Name: "sha1 only", PCR: 9, EventIndex: 14, Digests: map[string]string{"sha1": hexOf('d', 20)}},
	}
	base := Default()
	base.Enforcement = EnforceWarn
	base.References.Kernel = []Reference{{SHA256: hexOf('e', 32), Label: "older kernel"}}

	got := Learn(golden, base)

	want := References{
		Firmware:   []Reference{{SHA256: hexOf('a', 32), Label: "PCR 0 EV_S_CRTM_VERSION"}},
		Bootloader: []Reference{{SHA1: hexOf('b', 20), SHA256: hexOf('b', 32), Label: `\EFI\BOOT\BOOTX64.EFI`}},
		Kernel:     []Reference{{SHA256: hexOf('e', 32), Label: "older kernel"}, {SHA256: hexOf('c', 32), Label: "/vmlinuz-6.7"}},
	}
	if diff := cmp.Diff(want, got.References); diff != "" {
		t.Errorf("Learn() references mismatch (-want +got):\n%s", diff)
	}
	if got.Enforcement != EnforceWarn {
		t.Errorf("Learn() dropped base settings: enforcement %q", got.Enforcement)
	}
	if len(base.References.Kernel) != 1 {
		t.Errorf("Learn() modified base: %d kernel references", len(base.References.Kernel))
	}
	if err := got.Validate(); err != nil {
		t.Errorf("learned policy does not validate: %v", err)
	}
	for _, c := range golden[:4] {
		if _, ok, _ := got.Match(c); !ok {
			t.Errorf("learned policy does not allow the golden host's %s %q", c.Class, c.Name)
		}
	}
	if again := Learn(golden, got); !cmp.Equal(again.References, got.References) {
		t.Errorf("learning the same host twice changed the references")
	}
	if p := Learn(nil, nil); p.Validate() != nil {
		t.Errorf("Learn(nil, nil) is not a valid default policy: %v", p.Validate())
	}
}

// TestLearnLabels checks what an operator reads of learnt references: the
// classes of a real Linux boot are learnt, two different components of
// the same name get labels that tell them apart by their proven digest,
// and what the appraisal set on a component (Judged, Reference) never
// becomes part of a reference.
func TestLearnLabels(t *testing.T) {
	comp := func(class, name string, c byte) Component {
		return Component{Class: class, Name: name, Digests: map[string]string{"sha256": hexOf(c, 32)},
			Judged: true, Reference: "old label (" + hexOf('f', 32) + ")"}
	}
	tests := []struct {
		name  string
		base  []Reference
		comps Components
		class string
		want  []string // the labels of the class's references, in order
	}{
		{"initramfs", nil, Components{comp(ClassInitrd, "/initrd.img", 'a')}, ClassInitrd, []string{"/initrd.img"}},
		{"grub.cfg", nil, Components{comp(ClassBootConfig, "(hd0)/EFI/debian/grub.cfg", 'a')}, ClassBootConfig, []string{"(hd0)/EFI/debian/grub.cfg"}},
		{"GRUB command", nil, Components{comp(ClassBootCmds, "grub_cmd: set timeout=0", 'a')}, ClassBootCmds, []string{"grub_cmd: set timeout=0"}},
		{"two kernels of one name", nil,
			Components{comp(ClassKernel, "/vmlinuz (EFI image)", 'a'), comp(ClassKernel, "/vmlinuz (EFI image)", 'b')}, ClassKernel,
			[]string{"/vmlinuz (EFI image)", "/vmlinuz (EFI image) (sha256:bbbbbbbbbbbb)"}},
		{"a kernel named as the base's", []Reference{{SHA256: hexOf('c', 32), Label: "EFI application without a file path"}},
			Components{comp(ClassKernel, "EFI application without a file path", 'd')}, ClassKernel,
			[]string{"EFI application without a file path", "EFI application without a file path (sha256:dddddddddddd)"}},
		{"the same kernel twice", nil,
			Components{comp(ClassKernel, "/vmlinuz (EFI image)", 'a'), comp(ClassKernel, "/vmlinuz (EFI image)", 'a')}, ClassKernel,
			[]string{"/vmlinuz (EFI image)"}},
		{"unnamed twice", nil, Components{comp(ClassKernel, "", 'a'), comp(ClassKernel, "", 'b')}, ClassKernel, []string{"", "sha256:bbbbbbbbbbbb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := Default()
			*base.References.classPtr(tt.class) = tt.base
			got := Learn(tt.comps, base)
			var labels []string
			for _, r := range got.References.Class(tt.class) {
				labels = append(labels, r.Label)
			}
			if diff := cmp.Diff(tt.want, labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("learnt policy does not validate: %v", err)
			}
			for _, c := range tt.comps {
				if _, ok, _ := got.Match(c); !ok {
					t.Errorf("learnt policy does not allow %s %q", c.Class, c.Name)
				}
			}
		})
	}
}
