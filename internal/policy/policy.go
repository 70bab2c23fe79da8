package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxPolicyBytes bounds a policy document. Reference values for a large
// fleet are a few hundred digests; trusted roots a few PEM certificates.
const MaxPolicyBytes = 4 << 20

// Enforcement modes: what the placement gate does with a host whose latest
// verdict is not Passed.
const (
	EnforceOn   = "enforce" // refuse placement (fail closed)
	EnforceWarn = "warn"    // allow placement, say why it would be refused
	EnforceOff  = "off"     // allow placement silently
)

// Component classes, as reference values and verdicts name them.
const (
	ClassFirmware    = "firmware"
	ClassBootloader  = "bootloader"
	ClassKernel      = "kernel"
	ClassInitrd      = "initrd"
	ClassBootOptions = "boot_options"
	ClassBootConfig  = "boot_config"
	ClassBootCmds    = "boot_commands"
	ClassModules     = "modules"
)

// Classes lists the component classes in the order reports show them and
// the appraisal checks them: the order of the boot (firmware, the boot
// loaders, the kernel and its initramfs, the kernel command line, what the
// boot loader read and ran to get there), then the emulated chain's
// modules. Within a headline rank the first class failing in this order is
// the headline: a new kernel brings a new initramfs and a new boot loader
// configuration too, and the kernel is what an operator must see.
var Classes = []string{ClassFirmware, ClassBootloader, ClassKernel, ClassInitrd, ClassBootOptions, ClassBootConfig, ClassBootCmds, ClassModules}

// Policy is one host group's policy. The zero value is not useful: start from
// Default or Parse, which fill in the defaults.
type Policy struct {
	// SecureBootRequired makes a host whose verified PCR 7 events show
	// Secure Boot off fail. Default true.
	SecureBootRequired bool `yaml:"secure_boot_required"`
	// References are the allowed digests per component class. Every
	// measured component of a class with reference values must match one,
	// and such a class must have at least one measured component (a boot
	// that skipped it was halted or diverted). A class with no reference
	// values is not constrained: its components are reported but any digest
	// is accepted, so that a group can start with Secure Boot only and learn
	// its references later.
	References References `yaml:"references,omitempty"`
	// Signers are signer rules by class (rules.go): a bootloader or kernel
	// passes when a listed certificate verified it, unless denied.
	Signers SignerRules `yaml:"signers,omitempty"`
	// SbatMinimum is the lowest SBAT generation per component the
	// measured SbatLevel must revoke up to.
	SbatMinimum SbatMinimum `yaml:"sbat_minimum,omitempty"`
	// Cmdline are rules on the proven kernel command line's arguments.
	Cmdline CmdlineRules `yaml:"cmdline,omitempty"`
	// PerHost are classes pinned per host: each host's first Passed boot
	// pins its own value of the class (the digests of its components of
	// that class), and a later boot whose value differs fails until an
	// operator accepts it (`bootproof hosts accept`). For what differs
	// from host to host by design, such as an initramfs built on each
	// host. A class may also have reference values: both must then hold.
	PerHost []string `yaml:"per_host,omitempty"`
	// ReferencesRequired makes a host Failed (policy.no_references) when
	// the group constrains no component, so that a group cannot pass any
	// signed boot unnoticed. Default false for a policy document; the CLI
	// sets it on the groups it creates (docs/policy.md, "Trust level").
	ReferencesRequired bool `yaml:"references_required,omitempty"`
	// PCRsIgnore are PCRs the verifier neither requires in the quote nor
	// replays (for example PCR 10, extended by IMA after the firmware log
	// closes). Their events are never used. PCR 0-7 cannot be ignored.
	PCRsIgnore []int `yaml:"pcrs_ignore,omitempty"`
	// SecureBootVariables are optional expectations of PK, KEK, db and dbx.
	SecureBootVariables SecureBootVariables `yaml:"secure_boot_variables,omitempty"`
	// Bundles says which bundle signers the group trusts.
	Bundles Bundles `yaml:"bundles,omitempty"`
	// Interval is how often hosts are attested. Default 5m.
	Interval time.Duration `yaml:"interval"`
	// UnreachableAfter is how many missed intervals make a host
	// Unreachable. Default 3.
	UnreachableAfter int `yaml:"unreachable_after"`
	// VerdictMaxAge is how old a Passed verdict may be and still allow
	// placement. Default twice the interval.
	VerdictMaxAge time.Duration `yaml:"verdict_max_age"`
	// Enforcement is enforce, warn or off. Default enforce.
	Enforcement string `yaml:"enforcement"`
	// NAAllowed lets hosts without a TPM 2.0 (status N/A) run workloads.
	// Default false.
	NAAllowed bool `yaml:"na_allowed"`
}

// References are the reference values of every component class.
type References struct {
	Firmware   []Reference `yaml:"firmware,omitempty"`
	Bootloader []Reference `yaml:"bootloader,omitempty"`
	Kernel     []Reference `yaml:"kernel,omitempty"`
	// Initrd are the initramfs images the boot loader or the kernel's
	// EFI stub loaded.
	Initrd      []Reference `yaml:"initrd,omitempty"`
	BootOptions []Reference `yaml:"boot_options,omitempty"`
	// BootConfig are the other files the boot loader read (grub.cfg,
	// grubenv, fonts, GRUB modules); BootCommands the commands it ran
	// (GRUB's PCR 8 strings other than the kernel command line).
	BootConfig   []Reference `yaml:"boot_config,omitempty"`
	BootCommands []Reference `yaml:"boot_commands,omitempty"`
	Modules      []Reference `yaml:"modules,omitempty"`
}

// Class returns the reference values of a class (see Classes), or nil.
func (r *References) Class(class string) []Reference {
	if p := r.classPtr(class); p != nil {
		return *p
	}
	return nil
}

func (r *References) classPtr(class string) *[]Reference {
	switch class {
	case ClassFirmware:
		return &r.Firmware
	case ClassBootloader:
		return &r.Bootloader
	case ClassKernel:
		return &r.Kernel
	case ClassInitrd:
		return &r.Initrd
	case ClassBootOptions:
		return &r.BootOptions
	case ClassBootConfig:
		return &r.BootConfig
	case ClassBootCmds:
		return &r.BootCommands
	case ClassModules:
		return &r.Modules
	}
	return nil
}

// Reference is one allowed measurement: its digest in one or more banks
// (lowercase hex) and a label for people ("kernel 6.7.0-8169922"). A
// measurement matches when every bank both carry agrees and they share at
// least one bank of SHA-256 or stronger.
type Reference struct {
	SHA1   string `yaml:"sha1,omitempty"`
	SHA256 string `yaml:"sha256,omitempty"`
	SHA384 string `yaml:"sha384,omitempty"`
	SHA512 string `yaml:"sha512,omitempty"`
	Label  string `yaml:"label,omitempty"`
	// Expires, when set, is when the reference lapses (expiry.go).
	Expires time.Time `yaml:"expires,omitempty"`
}

// Digest returns the reference's digest in a bank named as pcrs.json names
// it ("sha256"), or "".
func (r Reference) Digest(bank string) string {
	switch bank {
	case "sha1":
		return r.SHA1
	case "sha256":
		return r.SHA256
	case "sha384":
		return r.SHA384
	case "sha512":
		return r.SHA512
	}
	return ""
}

// String names the reference for messages: its label and strongest digest.
func (r Reference) String() string {
	d := r.SHA512
	for _, s := range []string{r.SHA384, r.SHA256, r.SHA1} {
		if d == "" {
			d = s
		}
	}
	if r.Label == "" {
		return d
	}
	return r.Label + " (" + d + ")"
}

// SecureBootVariables are optional expectations of the Secure Boot
// variables as the verified PCR 7 events show them. Fingerprints are the
// lowercase hex SHA-256 of a certificate's DER; hashes are dbx entries as
// they appear in EFI_CERT_SHA256 signature lists.
type SecureBootVariables struct {
	// PK, if set, lists the platform key certificates allowed.
	PK []string `yaml:"pk,omitempty"`
	// KEK, if set, lists the key exchange key certificates allowed; every
	// KEK certificate must be one of them.
	KEK []string `yaml:"kek,omitempty"`
	// DB, if set, lists the db certificates allowed; every db certificate
	// must be one of them.
	DB []string `yaml:"db,omitempty"`
	// DBXContains lists hashes dbx must contain (revocations the group
	// insists on, such as the BootHole shims).
	DBXContains []string `yaml:"dbx_contains,omitempty"`
}

// Empty reports whether no expectation is set.
func (s SecureBootVariables) Empty() bool {
	return len(s.PK) == 0 && len(s.KEK) == 0 && len(s.DB) == 0 && len(s.DBXContains) == 0
}

// Bundles says which bundle signers a group trusts.
type Bundles struct {
	// TrustedRoots are PEM certificates of vendor roots a bundle signature
	// must chain to. With none, no bundle verifies.
	TrustedRoots []string `yaml:"trusted_roots,omitempty"`
	// MinAcceptance is the lowest acceptance level allowed: certified,
	// accepted, partner or community. Default partner.
	MinAcceptance string `yaml:"min_acceptance"`
}

// Default returns a policy with every default set and no reference values.
func Default() *Policy {
	return &Policy{
		SecureBootRequired: true,
		Bundles:            Bundles{MinAcceptance: "partner"},
		Interval:           5 * time.Minute,
		UnreachableAfter:   3,
		VerdictMaxAge:      10 * time.Minute,
		Enforcement:        EnforceOn,
	}
}

// Parse reads a YAML policy strictly: unknown keys, duplicate documents and
// values of the wrong type are errors that name their line. Unset fields
// take their defaults; verdict_max_age defaults to twice the interval. Parse
// does not validate the content: call Validate.
func Parse(b []byte) (*Policy, error) {
	if len(b) > MaxPolicyBytes {
		return nil, fmt.Errorf("parse policy: %d bytes, more than the %d allowed", len(b), MaxPolicyBytes)
	}
	p := Default()
	p.VerdictMaxAge = 0 // set below from the interval read
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse policy: empty document")
		}
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("parse policy: after the first document: %w", err)
		}
		return nil, fmt.Errorf("parse policy: line %d: a second YAML document; a policy is one document", extra.Line)
	}
	if p.VerdictMaxAge == 0 {
		p.VerdictMaxAge = 2 * p.Interval
	}
	return p, nil
}

// Marshal writes the policy as YAML that Parse reads back to an equal policy.
func (p *Policy) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	return buf.Bytes(), nil
}

// Ignored reports whether the policy ignores a PCR.
func (p *Policy) Ignored(pcr int) bool {
	for _, i := range p.PCRsIgnore {
		if i == pcr {
			return true
		}
	}
	return false
}

// Clone returns a deep copy.
func (p *Policy) Clone() *Policy {
	c := *p
	c.References = References{}
	for _, class := range Classes {
		*c.References.classPtr(class) = cloneRefs(p.References.Class(class))
	}
	c.PCRsIgnore = append([]int(nil), p.PCRsIgnore...)
	c.PerHost = append([]string(nil), p.PerHost...)
	c.SecureBootVariables = SecureBootVariables{
		PK:          append([]string(nil), p.SecureBootVariables.PK...),
		KEK:         append([]string(nil), p.SecureBootVariables.KEK...),
		DB:          append([]string(nil), p.SecureBootVariables.DB...),
		DBXContains: append([]string(nil), p.SecureBootVariables.DBXContains...),
	}
	c.Bundles.TrustedRoots = append([]string(nil), p.Bundles.TrustedRoots...)
	cloneRules(&c, p)
	return &c
}

func cloneRefs(r []Reference) []Reference {
	if r == nil {
		return nil
	}
	return append([]Reference(nil), r...)
}
