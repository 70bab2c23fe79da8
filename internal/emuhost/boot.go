package emuhost

import (
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
)

// BootConfig says which host to boot.
type BootConfig struct {
	Profile Profile
	// SecureBoot overrides the profile's default when not nil.
	SecureBoot *bool
	// Vendors are the signing identities; nil means DefaultVendors.
	Vendors *Vendors
	// Now is the time the kernel's bundle verifier checks certificate
	// validity at; zero means the current time.
	Now time.Time
}

// BootResult is what an emulated boot leaves behind: the evidence an agent
// would collect, and whether the boot got through.
type BootResult struct {
	Profile    Profile
	SecureBoot bool
	// TPMFamily is the host's TPM. Only a TPM 2.0 host has an event log.
	TPMFamily tpm.Family
	// Banks are the PCR banks the log carries and the boot extended.
	Banks []eventlog.Alg
	// EventLog is the crypto-agile TCG event log, as Linux exposes it in
	// binary_bios_measurements. On a halted boot it holds the events up to
	// the halt. Nil without a TPM 2.0.
	EventLog []byte
	// Bundles are the signed bundle files installed on the host (its
	// inventory), in install order.
	Bundles [][]byte
	// Halted is a *HaltError when Secure Boot stopped the boot.
	Halted error
}

// Stages of the boot, as HaltError names them.
const (
	StageFirmware = "firmware"
	StageLoader   = "boot loader"
	StageKernel   = "kernel"
)

// HaltError is Secure Boot stopping the boot: which stage refused which
// component, and why.
type HaltError struct {
	Stage     string // StageFirmware, StageLoader or StageKernel
	Component string // "boot loader vmkboot 6.7.0-3.73", "bundle net-backdoor 1.0.0"
	Reason    string
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("secure boot: %s halted the boot: %s: %s", e.Stage, e.Component, e.Reason)
}

// Boot runs the emulated boot chain of cfg.Profile against dev: each stage
// measures the next into the TPM (every active bank) and logs the event.
// For a host without a TPM 2.0, dev is not used (it may be nil) and the
// result has no event log. The error is for failures of the emulation (the
// TPM, a bad config); a boot that Secure Boot stops is a result with Halted.
func Boot(dev *tpm.Device, cfg BootConfig) (*BootResult, error) {
	if _, err := ParseProfile(string(cfg.Profile)); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	v := cfg.Vendors
	if v == nil {
		var err error
		if v, err = DefaultVendors(); err != nil {
			return nil, fmt.Errorf("boot %s: %w", cfg.Profile, err)
		}
	}
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	h, err := newHost(cfg.Profile, v)
	if err != nil {
		return nil, fmt.Errorf("boot %s: %w", cfg.Profile, err)
	}
	res := &BootResult{Profile: cfg.Profile, SecureBoot: cfg.Profile.DefaultSecureBoot(), TPMFamily: cfg.Profile.Family()}
	if cfg.SecureBoot != nil {
		res.SecureBoot = *cfg.SecureBoot
	}
	for _, b := range h.bundles {
		res.Bundles = append(res.Bundles, b.file)
	}
	if res.TPMFamily != tpm.FamilyTPM20 {
		return res, nil
	}
	if dev == nil {
		return nil, fmt.Errorf("boot %s: a TPM 2.0 profile needs a TPM device", cfg.Profile)
	}
	m, err := newMeasurer(dev)
	if err != nil {
		return nil, fmt.Errorf("boot %s: %w", cfg.Profile, err)
	}
	res.Banks = m.w.Banks()
	b := &booter{m: m, h: h, v: v, sb: res.SecureBoot, now: now}
	for _, stage := range []func() error{b.firmware, b.loader, b.kernel} {
		if err := stage(); err != nil {
			var he *HaltError
			if !errors.As(err, &he) {
				return nil, fmt.Errorf("boot %s: %w", cfg.Profile, err)
			}
			res.Halted = he
			break
		}
	}
	res.EventLog = m.w.Bytes()
	return res, nil
}

type booter struct {
	m   *measurer
	h   *host
	v   *Vendors
	sb  bool
	now time.Time
}

// measurer logs an event and extends its digests into the TPM, in that
// order for every event, so the log and the PCRs never disagree.
type measurer struct {
	dev *tpm.Device
	w   *eventlog.Writer
}

func newMeasurer(dev *tpm.Device) (*measurer, error) {
	active, err := dev.Banks()
	if err != nil {
		return nil, fmt.Errorf("read pcr banks: %w", err)
	}
	// Only banks Go can hash can be measured. A bank left out would keep
	// its reset values, and replay would flag it: better than a wrong log.
	var banks []eventlog.Alg
	for _, a := range active {
		if _, ok := a.Hash(); ok {
			banks = append(banks, a)
		}
	}
	if len(banks) == 0 {
		return nil, fmt.Errorf("no usable pcr bank among %v", active)
	}
	return &measurer{dev: dev, w: eventlog.NewWriter(banks)}, nil
}

// measure logs data and extends the digest of hashed (the measured bytes,
// which are not always the logged data: an image is measured, its load
// event logged).
func (m *measurer) measure(pcr int, typ eventlog.EventType, data, hashed []byte) error {
	ds := eventlog.Digests(m.w.Banks(), hashed)
	if err := m.w.Append(pcr, typ, ds, data); err != nil {
		return err
	}
	if err := m.dev.Extend(pcr, ds); err != nil {
		return fmt.Errorf("measure %v into PCR %d: %w", typ, pcr, err)
	}
	return nil
}

// grubString measures a PCR 8 string as GRUB does: the text after the
// prefix is hashed, prefix, text and a NUL are logged.
func (m *measurer) grubString(prefix, text string) error {
	return m.measure(PCRBootOptions, eventlog.EvIPL, append([]byte(prefix+text), 0), []byte(text))
}

// grubFile measures a file the boot loader read as GRUB does: its path,
// with a NUL, is logged and the file's bytes are hashed.
func (m *measurer) grubFile(path string, body []byte) error {
	return m.measure(PCRKernelModules, eventlog.EvIPL, append([]byte(path), 0), body)
}

// event logs data and measures its own digest, the usual case.
func (m *measurer) event(pcr int, typ eventlog.EventType, data []byte) error {
	return m.measure(pcr, typ, data, data)
}
