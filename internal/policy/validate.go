package policy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
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

// strongBanks are the banks a decision may rest on: SHA-1 collides.
var strongBanks = []string{"sha256", "sha384", "sha512"}

var bankSizes = map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}

// validate checks reference i of a class; errors name it
// references.<class>[i].
func (r Reference) validate(class string, i int) []error {
	var errs []error
	strong := false
	for _, bank := range [...]string{"sha1", "sha256", "sha384", "sha512"} {
		d := r.Digest(bank)
		if d == "" {
			continue
		}
		if err := checkHex(d, bankSizes[bank]); err != nil {
			errs = append(errs, fmt.Errorf("references.%s[%d].%s: %w", class, i, bank, err))
			continue
		}
		if bank != "sha1" {
			strong = true
		}
	}
	if !strong {
		errs = append(errs, fmt.Errorf("references.%s[%d]: needs a sha256, sha384 or sha512 digest (SHA-1 alone is not accepted)", class, i))
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
