package appraisal

import (
	"bytes"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// The readable EV_IPL prefixes of the emulated boot chain's loader and
// kernel (internal/emuhost, stages.go and the table in its doc.go). They are
// repeated here, not imported, because the verifier's core must not depend
// on the attester's emulation; the tests of package emutest boot every
// emulated profile and keep them in step.
const (
	emuBootOptionsPrefix = "boot_options: " // PCR 8: the kernel command line
	emuKernelPrefix      = "kernel: "       // PCR 9: "<name> <version>", digest of the kernel image
	emuModulePrefix      = "module: "       // PCR 9: "<bundle>/<payload>", digest of the payload
)

// classifyEmulated applies the emulated boot chain's conventions. Firmware
// (PCR 0) and the boot loader (PCR 4) need none: they follow the PC Client
// profile like real firmware. It returns "" for events it does not know.
func classifyEmulated(e *eventlog.Event) (class, name string) {
	if e.Type != eventlog.EvIPL {
		return "", ""
	}
	d := e.Data
	switch {
	case e.PCR == 8 && bytes.HasPrefix(d, []byte(emuBootOptionsPrefix)):
		return policy.ClassBootOptions, text(d[len(emuBootOptionsPrefix):])
	case e.PCR == 9 && bytes.HasPrefix(d, []byte(emuKernelPrefix)):
		return policy.ClassKernel, text(d[len(emuKernelPrefix):])
	case e.PCR == 9 && bytes.HasPrefix(d, []byte(emuModulePrefix)):
		return policy.ClassModules, text(d[len(emuModulePrefix):])
	}
	return "", ""
}
