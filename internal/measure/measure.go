package measure

import (
	"strings"

	"github.com/bootproof/bootproof/internal/policy"
)

// Kind is what a file is, as far as a boot is concerned.
type Kind string

const (
	// KindEFIImage is an EFI application without a Linux kernel in it: a
	// boot loader (shim, GRUB, systemd-boot).
	KindEFIImage Kind = "efi_image"
	// KindEFIKernel is a Linux kernel with its EFI stub (a PE image with a
	// Linux boot header), or a unified kernel image (a PE image with a
	// .linux section).
	KindEFIKernel Kind = "efi_kernel"
	// KindKernel is a Linux kernel without a PE header (no EFI stub).
	KindKernel Kind = "kernel"
	// KindFile is any other file: an initramfs, a grub.cfg.
	KindFile Kind = "file"
)

// How each measurement is taken.
const (
	MethodAuthenticode = "authenticode" // PE/COFF Authenticode digest
	MethodFile         = "file"         // digest of the file's bytes
)

// PCRs the measurements go to.
const (
	PCRImages = 4 // EFI images firmware and shim start
	PCRFiles  = 9 // files GRUB reads
)

// Measurement is one digest a boot extends for the file.
type Measurement struct {
	PCR     int     `json:"pcr"`
	Method  string  `json:"method"`
	By      string  `json:"by"` // who measures it, for people
	Digests Digests `json:"digests"`
}

// Result is what a boot would measure for a file.
type Result struct {
	Kind Kind  `json:"kind"`
	Size int64 `json:"size"`
	// Label names the file for people, read from the file: "Linux
	// 6.1.0-28-cloud-amd64", "shim 15.8-1 (SBAT shim,4)"; "" when the
	// file says nothing about itself.
	Label string `json:"label,omitempty"`
	// KernelVersion is a Linux kernel's whole version string.
	KernelVersion string `json:"kernel_version,omitempty"`
	// SBAT is an EFI image's .sbat section.
	SBAT []SBATEntry `json:"sbat,omitempty"`
	// Classes are the component classes the file can be referenced as.
	Classes []string `json:"classes"`
	// Measurements: the PCR 4 Authenticode digest for an EFI image, then
	// the PCR 9 file digest GRUB would extend if it read the file.
	Measurements []Measurement `json:"measurements"`
}

// Measurement returns the file's measurement into a PCR.
func (r *Result) Measurement(pcr int) (Measurement, bool) {
	for _, m := range r.Measurements {
		if m.PCR == pcr {
			return m, true
		}
	}
	return Measurement{}, false
}

// CanBe reports whether the file can be a component of the class.
func (r *Result) CanBe(class string) bool {
	for _, c := range r.Classes {
		if c == class {
			return true
		}
	}
	return false
}

// File decides what the file is and computes what a boot measures for it.
// A file that starts as a PE image ("MZ") must be a sound one.
func File(b []byte) (*Result, error) {
	r := &Result{Kind: KindFile, Size: int64(len(b))}
	if isMZ(b) {
		img, err := parsePE(b)
		if err != nil {
			return nil, err
		}
		if err := r.readImage(b, img); err != nil {
			return nil, err
		}
		r.Measurements = append(r.Measurements, Measurement{PCR: PCRImages, Method: MethodAuthenticode,
			By: "firmware and shim, for each EFI image they start", Digests: img.authenticode(b)})
	} else if err := r.readKernel(b, 0); err != nil {
		return nil, err
	}
	r.Measurements = append(r.Measurements, Measurement{PCR: PCRFiles, Method: MethodFile,
		By: "GRUB, when it reads the file (a kernel, an initramfs, grub.cfg)", Digests: FileDigests(b)})
	r.Classes = classesOf(r.Kind)
	return r, nil
}

// readImage reads an EFI image's labels: a Linux boot header (a kernel's
// EFI stub) or a .linux section (a UKI) makes it a kernel, and its .sbat
// section names it.
func (r *Result) readImage(b []byte, img *peImage) error {
	r.Kind = KindEFIImage
	if err := r.readKernel(b, 0); err != nil {
		return err
	}
	if s, ok := img.section(".linux"); ok && r.Kind == KindEFIImage {
		if err := r.readKernel(s.data(b), int64(s.offset)); err != nil {
			return err
		}
	}
	if r.Kind == KindKernel {
		r.Kind = KindEFIKernel
	}
	if s, ok := img.section(".sbat"); ok {
		sbat, err := parseSBAT(s.data(b), int64(s.offset))
		if err != nil {
			return err
		}
		r.SBAT = sbat
		if r.Label == "" {
			r.Label = sbatLabel(sbat)
		}
	}
	return nil
}

// readKernel makes r a kernel when b (at base in the file) has a Linux
// boot header, labelled with the version's first word.
func (r *Result) readKernel(b []byte, base int64) error {
	v, linux, err := kernelVersion(b, base)
	if err != nil || !linux {
		return err
	}
	r.Kind, r.KernelVersion = KindKernel, v
	if f := strings.Fields(v); len(f) > 0 {
		r.Label = "Linux " + f[0]
	}
	return nil
}

func classesOf(k Kind) []string {
	switch k {
	case KindEFIImage:
		return []string{policy.ClassBootloader}
	case KindEFIKernel, KindKernel:
		return []string{policy.ClassKernel}
	}
	return []string{policy.ClassKernel, policy.ClassInitrd, policy.ClassBootConfig}
}
