package appraisal

import (
	"slices"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
)

// Pin is the value of one component class pinned on one host (policy
// PerHost): the digests of the host's components of that class in one
// bank, as a boot that Passed measured them or an operator accepted them.
type Pin struct {
	Class string `json:"class"`
	// Bank names the bank of Digests ("sha256").
	Bank string `json:"bank"`
	// Digests are lowercase hex, sorted, each once: the class's value is
	// the set of what it measured, whatever the order of the events.
	Digests []string `json:"digests"`
	// Since is when the value was pinned; AcceptedBy who pinned it ("" for
	// the verifier, on the host's first Passed boot).
	Since      time.Time `json:"since"`
	AcceptedBy string    `json:"accepted_by,omitempty"`
}

// PinValue returns a verdict's value of a class in its decision bank, as a
// Pin would hold it: the sorted distinct digests of its components of
// that class. ok is false when the verdict has no decision bank (nothing
// was proven), so there is nothing to pin.
func PinValue(v *Verdict, class string) (bank string, digests []string, ok bool) {
	if v.Bank == "" {
		return "", nil, false
	}
	return v.Bank, classDigests(v.Components, class, v.Bank), true
}

// classDigests are the sorted distinct digests in bank of the components
// of a class; a component not proven in that bank counts as "" so that it
// can never match a pinned digest.
func classDigests(cs policy.Components, class, bank string) []string {
	out := []string{}
	for _, c := range cs {
		if c.Class == class {
			out = append(out, c.Digests[bank])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pinFor returns the host's pin of a class, or nil.
func (in *Input) pinFor(class string) *Pin {
	for i := range in.Pins {
		if in.Pins[i].Class == class {
			return &in.Pins[i]
		}
	}
	return nil
}

// PinnedReference is how a component of a per-host class names what it
// matched: "pinned on this host since 2026-05-04T10:00:00Z".
func PinnedReference(since time.Time) string {
	return "pinned on this host since " + since.UTC().Format(time.RFC3339)
}

// checkPerHost compares the components of every per-host class with the
// value pinned on the host. With no pin yet the class passes: the
// verifier pins this boot's value if the boot passes. A class that also has
// reference values was judged by checkReferences as well; both must hold.
func (a *appraisal) checkPerHost() {
	for _, class := range a.in.Policy.PerHost {
		code := referenceCodes[class]
		pin := a.in.pinFor(class)
		if pin == nil {
			a.pass(code, "No value of the "+classPlural[class]+" is pinned on this host yet: this boot's is pinned if it passes.")
			continue
		}
		got := classDigests(a.v.Components, class, pin.Bank)
		same := slices.Equal(got, pin.Digests)
		shown := a.markPinned(class, pin, same)
		if same {
			a.pass(code, "The "+classPlural[class]+" are the value "+PinnedReference(pin.Since)+".")
			continue
		}
		a.dropPassed(code)
		c := Check{Code: code, Bank: pin.Bank,
			Message:  "The " + classSingular[class] + " changed since " + pin.Since.UTC().Format(time.RFC3339) + " (pinned on this host).",
			Expected: pin.Digests, Found: strings.Join(got, " ")}
		names := make([]string, len(shown))
		for i, s := range shown {
			names[i] = shownName(s)
		}
		c.Component = strings.Join(names, ", ")
		if len(shown) == 1 { // one event to point at
			c.PCR, c.EventIndex = intp(shown[0].PCR), intp(shown[0].EventIndex)
		}
		a.fail(c)
	}
}

// markPinned marks the class's components judged, names the pin as their
// reference when they match it, and returns them for the check.
func (a *appraisal) markPinned(class string, pin *Pin, same bool) []policy.Component {
	var shown []policy.Component
	for i := range a.v.Components {
		c := &a.v.Components[i]
		if c.Class != class {
			continue
		}
		c.Judged = true
		shown = append(shown, *c)
		switch {
		case !same:
		case c.Reference == "":
			c.Reference = PinnedReference(pin.Since)
		default:
			c.Reference += "; " + PinnedReference(pin.Since)
		}
	}
	return shown
}

// dropPassed removes the passed checks of a code about to fail, so that a
// class that matched its reference values but changed on this host does
// not show both.
func (a *appraisal) dropPassed(code string) {
	a.v.Checks = slices.DeleteFunc(a.v.Checks, func(c Check) bool { return c.Code == code && c.Passed })
}
