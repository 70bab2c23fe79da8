package policy

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// SignerClasses are the classes a signer rule may constrain: the images
// firmware or shim verify and log an authority for. Firmware volumes,
// initramfs images, command lines and GRUB's files carry no signature the
// boot checks.
var SignerClasses = []string{ClassBootloader, ClassKernel}

// SignerRules are the signer rules by class (see SignerClasses). A
// component of a class with a rule passes when its exact reference values
// list it or its verifying certificate is one the rule lists; a digest the
// rule denies fails it either way.
type SignerRules map[string]SignerRule

// SignerRule says who may have verified a class's images, and which signed
// builds are known bad.
type SignerRule struct {
	// Certificates are the certificates that may have verified the image
	// (a db entry, shim's vendor certificate, a MokList entry).
	Certificates []Certificate `yaml:"certificates,omitempty"`
	// Deny are digests of signed builds that fail even when a listed
	// certificate verified them (known-bad kernels, BootHole GRUBs).
	Deny []Denied `yaml:"deny,omitempty"`
}

// Certificate names a certificate by the SHA-256 fingerprint of its DER
// (lowercase hex), with its subject as a label for people: only the
// fingerprint is compared.
type Certificate struct {
	SHA256  string `yaml:"sha256"`
	Subject string `yaml:"subject,omitempty"`
}

// Denied is a known-bad build: its digests as a Reference has them, and
// its label saying why.
type Denied struct {
	Reference `yaml:",inline"`
}

// SbatMinimum is the lowest generation the measured SbatLevel must revoke
// up to, per SBAT component ("grub: 4": shim must refuse GRUBs of SBAT
// generation below 4).
type SbatMinimum map[string]int

// CmdlineRules judge the proven kernel command line (class boot_options)
// by its arguments. A pattern "name=value" is that argument, "name=" the
// argument with any value, "name" the argument with or without a value,
// and "prefix*" any argument that starts with prefix.
type CmdlineRules struct {
	// Required arguments must each be present.
	Required []string `yaml:"required,omitempty"`
	// Forbidden arguments must all be absent.
	Forbidden []string `yaml:"forbidden,omitempty"`
	// PerHost are argument names ("root=", "resume=") whose value differs
	// from host to host: they are left out when a command line is compared
	// with the reference values' command lines.
	PerHost []string `yaml:"per_host,omitempty"`
}

// Empty reports whether no command-line rule is set.
func (c CmdlineRules) Empty() bool {
	return len(c.Required) == 0 && len(c.Forbidden) == 0 && len(c.PerHost) == 0
}

// UnmarshalYAML reads the rules of each class, refusing keys it does not
// know and a class that is not signed, naming the line: Parse reports
// what an operator can fix in the file where it is. (The YAML line is
// not kept in the policy: Validate repeats the checks without it.)
func (s *SignerRules) UnmarshalYAML(n *yaml.Node) error {
	out := SignerRules{}
	err := eachPair(n, "signers: want a map of class to signer rule", func(k, v *yaml.Node) error {
		if err := checkSignerClass(k.Value); err != nil {
			return fmt.Errorf("line %d: %w", k.Line, err)
		}
		var r SignerRule
		if err := v.Decode(&r); err != nil {
			return err
		}
		if len(r.Certificates) == 0 {
			return fmt.Errorf("line %d: %w", k.Line, noCertificates(k.Value))
		}
		out[k.Value] = r
		return nil
	})
	*s = out
	return err
}

// UnmarshalYAML reads a rule strictly (a decoder's KnownFields does not
// reach into a node decoded by hand).
func (r *SignerRule) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "signer rule", "certificates", "deny"); err != nil {
		return err
	}
	type plain SignerRule
	return n.Decode((*plain)(r))
}

// UnmarshalYAML reads a certificate strictly and keeps its line.
func (c *Certificate) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "certificate", "sha256", "subject"); err != nil {
		return err
	}
	type plain Certificate
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("line %d: certificate: %w", n.Line, err)
	}
	return nil
}

// UnmarshalYAML reads a denied build strictly and keeps its line.
func (d *Denied) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "deny entry", "sha1", "sha256", "sha384", "sha512", "label"); err != nil {
		return err
	}
	if err := n.Decode(&d.Reference); err != nil {
		return err
	}
	if errs := d.validateAt(func() string { return fmt.Sprintf("line %d: deny entry", n.Line) }); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// UnmarshalYAML reads "component: generation" pairs, keeping their lines.
func (m *SbatMinimum) UnmarshalYAML(n *yaml.Node) error {
	out := SbatMinimum{}
	err := eachPair(n, "sbat_minimum: want a map of SBAT component to generation (grub: 4)", func(k, v *yaml.Node) error {
		var g int
		if err := v.Decode(&g); err != nil {
			return fmt.Errorf("line %d: sbat_minimum.%s: %q is not a generation number", v.Line, k.Value, v.Value)
		}
		if err := checkSbat(k.Value, g); err != nil {
			return fmt.Errorf("line %d: %w", k.Line, err)
		}
		out[k.Value] = g
		return nil
	})
	*m = out
	return err
}

// Components returns the components with a minimum, sorted.
func (m SbatMinimum) Components() []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// eachPair calls f with each key and value of a mapping node, stopping at
// the first error; a node that is no mapping is refused with notMap.
func eachPair(n *yaml.Node, notMap string, f func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s", n.Line, notMap)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := f(n.Content[i], n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// knownKeys refuses a mapping key other than those allowed, naming its line.
func knownKeys(n *yaml.Node, what string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s: want a map with %s", n.Line, what, strings.Join(allowed, ", "))
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return fmt.Errorf("line %d: %s: unknown key %q, want %s", k.Line, what, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// Rule returns the class's signer rule, or nil.
func (s SignerRules) Rule(class string) *SignerRule {
	if r, ok := s[class]; ok {
		return &r
	}
	return nil
}

// Certificate returns the rule's certificate of that fingerprint.
func (r *SignerRule) Certificate(sha256 string) (Certificate, bool) {
	for _, c := range r.Certificates {
		if sha256 != "" && c.SHA256 == sha256 {
			return c, true
		}
	}
	return Certificate{}, false
}

// Denies returns the deny entry a component matches.
func (r *SignerRule) Denies(c Component) (Denied, bool) {
	for _, d := range r.Deny {
		if d.Matches(c) {
			return d, true
		}
	}
	return Denied{}, false
}

// String names the certificate for messages: its subject and fingerprint.
func (c Certificate) String() string {
	if c.Subject == "" {
		return c.SHA256
	}
	return c.Subject + " (" + c.SHA256 + ")"
}

// cloneRules deep-copies the rules of p into c.
func cloneRules(c, p *Policy) {
	if p.Signers != nil {
		c.Signers = SignerRules{}
		for class, r := range p.Signers {
			r.Certificates = append([]Certificate(nil), r.Certificates...)
			r.Deny = append([]Denied(nil), r.Deny...)
			c.Signers[class] = r
		}
	}
	if p.SbatMinimum != nil {
		c.SbatMinimum = SbatMinimum{}
		for k, v := range p.SbatMinimum {
			c.SbatMinimum[k] = v
		}
	}
	c.Cmdline = CmdlineRules{
		Required:  append([]string(nil), p.Cmdline.Required...),
		Forbidden: append([]string(nil), p.Cmdline.Forbidden...),
		PerHost:   append([]string(nil), p.Cmdline.PerHost...),
	}
}
