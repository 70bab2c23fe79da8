package policy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bootproof/bootproof/internal/bundle"
)

// Validate checks that a policy is well formed and returns every problem at
// once (errors.Join), each naming the key at fault.
func (p *Policy) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if p.Interval <= 0 {
		add("interval: %v, must be positive", p.Interval)
	}
	if p.UnreachableAfter < 1 {
		add("unreachable_after: %d, must be at least 1 missed interval", p.UnreachableAfter)
	}
	if p.VerdictMaxAge <= 0 {
		add("verdict_max_age: %v, must be positive", p.VerdictMaxAge)
	}
	switch p.Enforcement {
	case EnforceOn, EnforceWarn, EnforceOff:
	default:
		add("enforcement: %q, want enforce, warn or off", p.Enforcement)
	}
	if _, err := bundle.ParseAcceptance(p.Bundles.MinAcceptance); err != nil {
		add("bundles.min_acceptance: %w", err)
	}
	if err := p.checkTrustedRoots(); err != nil {
		errs = append(errs, err)
	}
	seen := map[int]bool{}
	for i, pcr := range p.PCRsIgnore {
		switch {
		case pcr < 0 || pcr > 23:
			add("pcrs_ignore[%d]: PCR %d, want 8-23", i, pcr)
		case pcr < 8:
			add("pcrs_ignore[%d]: PCR %d cannot be ignored: PCR 0-7 hold the firmware, boot loader and Secure Boot state", i, pcr)
		case seen[pcr]:
			add("pcrs_ignore[%d]: PCR %d listed twice", i, pcr)
		}
		seen[pcr] = true
	}
	for _, class := range Classes {
		for i, r := range p.References.Class(class) {
			errs = append(errs, r.validate(class, i)...)
		}
	}
	errs = p.validateSigners(errs)
	errs = p.validateSbat(errs)
	errs = p.Cmdline.validate(errs)
	errs = append(errs, p.validatePerHost()...)
	// Every attestation validates its policy, so a valid one should cost
	// no allocation: messages are made only for what is wrong.
	sb := p.SecureBootVariables
	for _, v := range [...]struct {
		name string
		list []string
	}{{"pk", sb.PK}, {"kek", sb.KEK}, {"db", sb.DB}, {"dbx_contains", sb.DBXContains}} {
		for i, h := range v.list {
			if err := checkHex(h, 32); err != nil {
				add("secure_boot_variables.%s[%d]: %w", v.name, i, err)
			}
		}
	}
	return errors.Join(errs...)
}

var bankSizes = map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}

// validate checks reference i of a class; errors name it
// references.<class>[i].
func (r Reference) validate(class string, i int) []error {
	return r.validateAt(func() string { return fmt.Sprintf("references.%s[%d]", class, i) })
}

// validateAt checks a reference's digests; where names it in errors and
// is called only when something is wrong, so a valid reference costs no
// allocation.
func (r Reference) validateAt(where func() string) []error {
	var errs []error
	strong := false
	for _, bank := range [...]string{"sha1", "sha256", "sha384", "sha512"} {
		d := r.Digest(bank)
		if d == "" {
			continue
		}
		if err := checkHex(d, bankSizes[bank]); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", where(), bank, err))
			continue
		}
		if bank != "sha1" {
			strong = true
		}
	}
	if !strong {
		errs = append(errs, fmt.Errorf("%s: needs a sha256, sha384 or sha512 digest (SHA-1 alone is not accepted)", where()))
	}
	return errs
}

// checkHex requires size bytes in lowercase hex. A digest of lowercase
// hex digits, the usual case, is checked without decoding it, so a valid
// one costs no allocation; anything else takes the decoding path.
func checkHex(s string, size int) error {
	if !isLowerHex(s) {
		if s != strings.ToLower(s) {
			return fmt.Errorf("%q: want lowercase hex", s)
		}
		if _, err := hex.DecodeString(s); err != nil {
			return fmt.Errorf("%q: not hex", s)
		}
	}
	if len(s)%2 != 0 {
		return fmt.Errorf("%q: not hex", s)
	}
	if len(s)/2 != size {
		return fmt.Errorf("%q: %d bytes, want %d", s, len(s)/2, size)
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// validateSigners checks each signer rule: a class that is signed, a
// SHA-256 fingerprint per certificate, a digest per deny entry.
func (p *Policy) validateSigners(errs []error) []error {
	for _, class := range sortedKeys(p.Signers) {
		r := p.Signers[class]
		if err := checkSignerClass(class); err != nil {
			errs = append(errs, fmt.Errorf("signers.%s: %w", class, err))
			continue
		}
		if len(r.Certificates) == 0 {
			errs = append(errs, fmt.Errorf("signers.%s: %w", class, noCertificates(class)))
		}
		for i, c := range r.Certificates {
			if err := c.check(); err != nil {
				errs = append(errs, fmt.Errorf("signers.%s.certificates[%d]: %w", class, i, err))
			}
		}
		for i, d := range r.Deny {
			errs = append(errs, d.validateAt(func() string { return fmt.Sprintf("signers.%s.deny[%d]", class, i) })...)
		}
	}
	return errs
}

func checkSignerClass(class string) error {
	if slices.Contains(SignerClasses, class) {
		return nil
	}
	return fmt.Errorf("signers: %q is not a class of signed images; signer rules apply to %s", class, strings.Join(SignerClasses, " and "))
}

func noCertificates(class string) error {
	return fmt.Errorf("signers.%s lists no certificate, so it would pass nothing", class)
}

// check requires the fingerprint to be a SHA-256 in lowercase hex.
func (c Certificate) check() error {
	if err := checkHex(c.SHA256, 32); err != nil {
		return fmt.Errorf("sha256 is the certificate's SHA-256 fingerprint: %w", err)
	}
	return nil
}

// validateSbat checks the SBAT minimum: component names as SbatLevel
// writes them, generations from 1.
func (p *Policy) validateSbat(errs []error) []error {
	for _, name := range p.SbatMinimum.Components() {
		if err := checkSbat(name, p.SbatMinimum[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkSbat(name string, g int) error {
	switch {
	case name == "sbat":
		return errors.New("sbat_minimum.sbat: \"sbat\" is SbatLevel's header line, not a component; name one such as shim, grub or grub.debian")
	case !sbatName(name):
		return fmt.Errorf("sbat_minimum: %q is not an SBAT component name (letters, digits, '.', '_', '-')", name)
	case g < 1:
		return fmt.Errorf("sbat_minimum.%s: generation %d, want 1 or more", name, g)
	}
	return nil
}

func sbatName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// validate checks the command-line patterns: one word each, per-host
// names ending in "=", no pattern both required and forbidden.
func (c CmdlineRules) validate(errs []error) []error {
	for _, l := range [...]struct {
		key  string
		list []string
	}{{"required", c.Required}, {"forbidden", c.Forbidden}, {"per_host", c.PerHost}} {
		for i, pat := range l.list {
			switch {
			case pat == "" || pat == "*" || pat == "=" || strings.ContainsAny(pat, " \t\n\"'"):
				errs = append(errs, fmt.Errorf("cmdline.%s[%d]: %q, want one argument pattern (lockdown=integrity, init=, single, rd.*)", l.key, i, pat))
			case l.key == "per_host" && (!strings.HasSuffix(pat, "=") || strings.Count(pat, "=") != 1):
				errs = append(errs, fmt.Errorf("cmdline.per_host[%d]: %q, want an argument name ending in '=' (root=)", i, pat))
			case l.key == "forbidden" && slices.Contains(c.Required, pat):
				errs = append(errs, fmt.Errorf("cmdline.forbidden[%d]: %q is also required: no command line could pass", i, pat))
			}
		}
	}
	return errs
}

func sortedKeys(m SignerRules) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validatePerHost checks per_host: known classes, each once. Errors name
// per_host[i].
func (p *Policy) validatePerHost() []error {
	var errs []error
	for i, class := range p.PerHost {
		switch {
		case p.References.classPtr(class) == nil:
			errs = append(errs, fmt.Errorf("per_host[%d]: %q is not a component class, want one of %s", i, class, strings.Join(Classes, ", ")))
		case slices.Contains(p.PerHost[:i], class):
			errs = append(errs, fmt.Errorf("per_host[%d]: %q listed twice", i, class))
		}
	}
	return errs
}

// IsPerHost reports whether a class is pinned per host.
func (p *Policy) IsPerHost(class string) bool {
	return slices.Contains(p.PerHost, class)
}
