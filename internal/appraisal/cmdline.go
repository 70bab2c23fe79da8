package appraisal

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// Check codes of the command-line rules (policy.CmdlineRules).
const (
	CodeCmdlineRequired  = "cmdline.required"
	CodeCmdlineForbidden = "cmdline.forbidden"
	// CodeCmdlineUnproven: a command line the rules cannot read (its
	// text is a label the digest does not prove, or none was measured).
	CodeCmdlineUnproven = "cmdline.unproven"
)

// grubCmdlinePrefixes start GRUB's command line strings, whose first word
// is the kernel's path, not an argument.
var grubCmdlinePrefixes = kernelCmdlinePrefixes

// cmdlineArgs splits a proven command line into the kernel's arguments:
// GRUB's "kernel_cmdline: PATH args" loses its prefix and the kernel's
// path. Double quotes group a value with spaces, as the kernel reads them.
func cmdlineArgs(text string) []string {
	skipPath := false
	for _, p := range grubCmdlinePrefixes {
		if strings.HasPrefix(text, p) {
			text, skipPath = text[len(p):], true
			break
		}
	}
	var args []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		if cur.Len() > 0 {
			args = append(args, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case (r == ' ' || r == '\t' || r == '\n') && !quoted:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	if skipPath && len(args) > 0 {
		args = args[1:]
	}
	return args
}

// argMatches reports whether a kernel argument matches a rule's pattern:
// "name=value" that argument, "name=" the name with any value, "name" the
// name with or without a value, "prefix*" any argument starting with it.
func argMatches(pattern, arg string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(arg, p)
	}
	name, _, hasValue := strings.Cut(arg, "=")
	if p, ok := strings.CutSuffix(pattern, "="); ok {
		return hasValue && name == p
	}
	if strings.Contains(pattern, "=") {
		return arg == pattern
	}
	return name == pattern
}

// firstMatch returns the first argument matching pattern.
func firstMatch(pattern string, args []string) (string, bool) {
	for _, a := range args {
		if argMatches(pattern, a) {
			return a, true
		}
	}
	return "", false
}

// checkCmdline applies the command-line rules to every proven boot_options
// component. A command line whose text the digest does not prove, or a
// boot that measured none, fails: the rules are never judged from a label
// the host wrote. It runs before the reference values are compared, so
// that a forbidden argument heads a verdict where the changed command line
// also misses the references (same rank, earlier check).
func (a *appraisal) checkCmdline(verified []eventlog.Event) {
	rules := a.in.Policy.Cmdline
	if rules.Empty() {
		return
	}
	a.rules.cmdlineBad = map[int]bool{}
	a.rules.cmdlineText = fullCmdlines(verified, a.v.Components)
	measured, ok := false, true
	for i := range a.v.Components {
		c := &a.v.Components[i]
		if c.Class != policy.ClassBootOptions {
			continue
		}
		measured = true
		c.Judged = true
		if fails := cmdlineFailures(rules, *c, a.rules.cmdlineText[c.EventIndex]); len(fails) > 0 {
			ok = false
			a.rules.cmdlineBad[c.EventIndex] = true
			for _, f := range fails {
				f.Bank, f.PCR, f.EventIndex, f.Component = a.v.Bank, intp(c.PCR), intp(c.EventIndex), shownName(*c)
				a.fail(f)
			}
		}
	}
	if !measured {
		a.fail(Check{Code: CodeCmdlineUnproven, Found: "nothing measured",
			Message: "The boot measured no kernel command line, so the policy's command-line rules cannot be checked."})
		return
	}
	if ok {
		a.pass(CodeCmdlineRequired, "Every proven kernel command line has the required arguments.")
		a.pass(CodeCmdlineForbidden, "No proven kernel command line has a forbidden argument.")
	}
}

// cmdlineFailures are the rules one command line breaks, each naming the
// argument. full is the command line's whole proven text ("" when the
// component is not proven text).
func cmdlineFailures(rules policy.CmdlineRules, c policy.Component, full string) []Check {
	if full == "" {
		return []Check{{Code: CodeCmdlineUnproven, Found: shownName(c),
			Message: "The boot options of event #" + fmt.Sprint(c.EventIndex) + " are not proven text (" + UnprovenLabel + "), so the policy's command-line rules cannot be checked on them."}}
	}
	args := cmdlineArgs(full)
	var out []Check
	for _, req := range rules.Required {
		if _, ok := firstMatch(req, args); !ok {
			out = append(out, Check{Code: CodeCmdlineRequired, Expected: []string{req}, Found: strings.Join(args, " "),
				Message: fmt.Sprintf("The kernel command line lacks %s, which the policy requires.", req)})
		}
	}
	for _, forb := range rules.Forbidden {
		if arg, ok := firstMatch(forb, args); ok {
			out = append(out, Check{Code: CodeCmdlineForbidden, Expected: []string{"no " + forb}, Found: arg,
				Message: fmt.Sprintf("The kernel command line has %s, which the policy forbids (%s).", arg, forb)})
		}
	}
	return out
}

// cmdlineAccepts judges a command line that matched no reference digest:
// with command-line rules, its arguments other than the per-host ones
// (root=, resume=) need only equal those of a reference's command line,
// and a class without references needs only the rules. It returns ok with
// nothing to say when the rules already failed it (checkCmdline reported
// why), and false when a reference is needed and none matches.
func (a *appraisal) cmdlineAccepts(c *policy.Component, refs []policy.Reference) (why string, ok bool) {
	rules := a.in.Policy.Cmdline
	if a.rules.cmdlineBad[c.EventIndex] {
		return "", true
	}
	full := a.rules.cmdlineText[c.EventIndex]
	if full == "" {
		return "", false
	}
	if len(refs) == 0 {
		return "satisfies the command-line rules", true
	}
	got := withoutPerHost(rules.PerHost, cmdlineArgs(full))
	for _, r := range refs {
		if r.Label != "" && slices.Equal(got, withoutPerHost(rules.PerHost, cmdlineArgs(r.Label))) {
			return r.String() + " with " + strings.Join(rules.PerHost, ", ") + " per host (command-line rules)", true
		}
	}
	return "", false
}

// fullCmdlines are the whole texts of the proven command lines by event
// index. A component's Name is cut for display (clip); the rules read the
// event's data, which its digest binds, so that an argument past the cut
// is judged too. A component without its event (a test's) keeps its Name
// when that was not cut.
func fullCmdlines(events []eventlog.Event, cs policy.Components) map[int]string {
	byIndex := make(map[int]*eventlog.Event, len(events))
	for i := range events {
		byIndex[events[i].Index] = &events[i]
	}
	out := map[int]string{}
	for _, c := range cs {
		if c.Class != policy.ClassBootOptions || !c.NameProven || c.Name == "" {
			continue
		}
		e := byIndex[c.EventIndex]
		switch {
		case e != nil && isUTF16(e.Data):
			out[c.EventIndex] = strings.TrimSpace(string(utf16.Decode(utf16Units(e.Data))))
		case e != nil:
			out[c.EventIndex] = strings.TrimRight(string(e.Data), "\x00")
		case !strings.HasSuffix(c.Name, "…"):
			out[c.EventIndex] = c.Name
		}
	}
	return out
}

// utf16Units reads little-endian UTF-16 up to its NUL, uncut.
func utf16Units(b []byte) []uint16 {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return u
}

// withoutPerHost drops the arguments whose value may differ per host.
func withoutPerHost(perHost, args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if !slices.ContainsFunc(perHost, func(p string) bool { return argMatches(p, a) }) {
			out = append(out, a)
		}
	}
	return out
}
