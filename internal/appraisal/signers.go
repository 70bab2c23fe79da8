package appraisal

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bootproof/bootproof/internal/policy"
)

// Check codes of the policy's rules (policy/rules.go).
const (
	// CodeRefDenied: a component is a build the policy denies, whoever
	// signed it and whatever reference it matches.
	CodeRefDenied = "reference.denied"
	// CodeSecureBootSbatLevel: the measured SbatLevel revokes less than
	// the policy's minimum for an SBAT component.
	CodeSecureBootSbatLevel = "secureboot.sbat_level"
)

// ruleState is what the rules decided before the reference values are
// compared, by event index.
type ruleState struct {
	denied     map[int]bool
	cmdlineBad map[int]bool
	// cmdlineText are the proven command lines' whole texts.
	cmdlineText map[int]string
}

// checkDenied fails every component a signer rule denies. It runs before
// the reference values are compared, so that a denied build is failed as
// denied (ranked with foreign code) even when a reference or a listed
// certificate would pass it: deny always wins.
func (a *appraisal) checkDenied() {
	for i := range a.v.Components {
		c := &a.v.Components[i]
		rule := a.in.Policy.Signers.Rule(c.Class)
		if rule == nil {
			continue
		}
		d, ok := rule.Denies(*c)
		if !ok {
			continue
		}
		if a.rules.denied == nil {
			a.rules.denied = map[int]bool{}
		}
		a.rules.denied[c.EventIndex] = true
		c.Judged = true
		a.fail(Check{Code: CodeRefDenied, Bank: a.v.Bank, PCR: intp(c.PCR), EventIndex: intp(c.EventIndex), Component: shownName(*c),
			Message:  fmt.Sprintf("The %s %s is a build the policy denies (%s): it fails whoever signed it.", classSingular[c.Class], quoteName(c.Name)+unprovenNote(*c), d.String()),
			Expected: []string{"not " + d.String()}, Found: c.Digests[a.v.Bank]})
	}
}

// signerAccepts reports whether the class's signer rule passes c, and
// says how for the component's Reference. An image passes when the
// certificate that verified it is listed; an inferred authority (no event
// of its own: firmware and shim log each certificate once per boot, see
// loggedOnceAuthorities) is accepted, because it is inferred only when one
// certificate can have verified it. A kernel file the boot loader read
// (GRUB's PCR 9) carries no authority: it passes when the next image of
// its class, the one the boot loader then had verified and ran, passes.
func (a *appraisal) signerAccepts(rule *policy.SignerRule, c *policy.Component) (string, bool) {
	if c.PCR != 4 {
		img := a.nextImage(c)
		if img == nil || a.rules.denied[img.EventIndex] {
			return "", false
		}
		why, ok := a.signerAccepts(rule, img)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("read by the boot loader, then run as the image of event #%d, %s", img.EventIndex, why), true
	}
	cert, ok := rule.Certificate(c.AuthoritySHA256)
	if !ok {
		return "", false
	}
	name := c.Authority
	if name == "" {
		name = cert.String()
	}
	if c.AuthorityInferred {
		return "signed by " + name + " (signer rule; authority inferred)", true
	}
	return "signed by " + name + " (signer rule)", true
}

// nextImage is the first PCR 4 image of c's class after c in the log.
func (a *appraisal) nextImage(c *policy.Component) *policy.Component {
	for i := range a.v.Components {
		n := &a.v.Components[i]
		if n.Class == c.Class && n.PCR == 4 && n.EventIndex > c.EventIndex {
			return n
		}
	}
	return nil
}

// signerRejects says why neither a reference nor the signer rule passed
// c, naming the certificate found (for a file the boot loader read, that
// of the image it then ran).
func (a *appraisal) signerRejects(c policy.Component, refs int) string {
	var b strings.Builder
	b.WriteString("The " + classSingular[c.Class] + " " + quoteName(c.Name) + unprovenNote(c))
	if refs > 0 {
		b.WriteString(" is not among the policy's reference values, and")
	}
	if c.PCR != 4 {
		img := a.nextImage(&c)
		if img == nil {
			b.WriteString(" was read by the boot loader, but no image of it ran after, so nothing shows who signed it.")
			return b.String()
		}
		fmt.Fprintf(&b, " was read by the boot loader and run as the image of event #%d, which", img.EventIndex)
		c = *img
	}
	switch {
	case a.rules.denied[c.EventIndex]:
		b.WriteString(" is denied.")
	case c.AuthoritySHA256 == "":
		b.WriteString(" was verified by no certificate the log shows (Secure Boot off, or allowed by its hash), so the signer rule cannot pass it.")
	default:
		fmt.Fprintf(&b, " was verified by %s (%s), which the %s signer rule does not list.", c.Authority, c.AuthoritySHA256, c.Class)
	}
	return b.String()
}

// checkSbatLevel compares the measured SbatLevel with the policy's
// minimum per SBAT component. Without a measured level (no shim, a shim
// before 15.3, PCR 7 unproven) every minimum fails: nothing shows what
// shim revoked.
func (a *appraisal) checkSbatLevel() {
	min := a.in.Policy.SbatMinimum
	if len(min) == 0 {
		return
	}
	var text string
	if sb := a.v.SecureBoot; sb != nil && sb.Shim != nil {
		text = sb.Shim.SbatLevel
	}
	level := parseSbatLevel(text)
	ok := true
	for _, comp := range min.Components() {
		want := min[comp]
		got, found := level[comp]
		if found && got >= want {
			continue
		}
		ok = false
		c := Check{Code: CodeSecureBootSbatLevel, Component: comp, Expected: []string{fmt.Sprintf("%s,%d or higher", comp, want)}}
		switch {
		case text == "":
			c.Found, c.Message = "no SbatLevel measured", fmt.Sprintf("The boot measured no SbatLevel, so nothing shows that shim revokes %s below generation %d.", comp, want)
		case !found:
			c.Found, c.Message = "no "+comp+" line", fmt.Sprintf("The measured SbatLevel revokes no generation of %s; the policy wants %d or higher.", comp, want)
		default:
			c.Found, c.Message = fmt.Sprintf("%s,%d", comp, got), fmt.Sprintf("The measured SbatLevel revokes %s only below generation %d; the policy wants %d or higher.", comp, got, want)
		}
		a.fail(c)
	}
	if ok {
		a.pass(CodeSecureBootSbatLevel, "The measured SbatLevel is at or above the policy's minimum for every SBAT component it names.")
	}
}

// parseSbatLevel reads SbatLevel's CSV lines ("grub,5") into generations
// by component. The header line ("sbat,1,2025021800") and lines that do
// not read as component,generation are left out, so a mangled level
// fails the minimum rather than passing it.
func parseSbatLevel(text string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 || f[0] == "sbat" {
			continue
		}
		if g, err := strconv.Atoi(f[1]); err == nil {
			out[f[0]] = g
		}
	}
	return out
}

// ruled reports whether a class has a rule that judges it besides its
// reference values: a signer rule, or command-line rules for boot_options.
func (a *appraisal) ruled(class string) bool {
	p := a.in.Policy
	if class == policy.ClassBootOptions {
		return !p.Cmdline.Empty()
	}
	return p.Signers.Rule(class) != nil
}

// ruleAccepts judges a component no reference digest matched by its
// class's rule. When it is not accepted, msg says why for the
// reference.<class> check.
func (a *appraisal) ruleAccepts(c *policy.Component, refs []policy.Reference) (msg string, ok bool) {
	if c.Class == policy.ClassBootOptions && a.ruled(c.Class) {
		why, ok := a.cmdlineAccepts(c, refs)
		if why != "" {
			c.Reference = why
		}
		return notReferenceMessage(*c), ok
	}
	rule := a.in.Policy.Signers.Rule(c.Class)
	if rule == nil {
		return notReferenceMessage(*c), false
	}
	why, ok := a.signerAccepts(rule, c)
	if ok {
		c.Reference = why
		return "", true
	}
	return a.signerRejects(*c, len(refs)), false
}

// expected lists what would have passed a component of the class: its
// reference values and its signer rule's certificates.
func (a *appraisal) expected(class string, refs []policy.Reference) []string {
	out := expectedRefs(refs, a.in.Now)
	if rule := a.in.Policy.Signers.Rule(class); rule != nil {
		for _, c := range rule.Certificates {
			out = append(out, "signed by "+c.String())
		}
	}
	return out
}
