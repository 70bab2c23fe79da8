package policy

import (
	"fmt"
	"time"
)

// LearnOptions say how `policy learn` treats the references a new boot
// supersedes. The zero value adds the boot's components and keeps every
// old reference as it was.
type LearnOptions struct {
	// Replace are classes whose old references are dropped before the
	// boot's are added.
	Replace []string
	// ExpireAt, when set, is the expiry given to the old references of
	// every class the boot measured that the boot's components do not
	// match (the superseded ones); an earlier expiry is kept.
	ExpireAt time.Time
}

// LearnWith is Learn with options. A reference the boot matches loses its
// expiry whatever the options: the operator has just called that boot a
// reference, so it must not lapse. An unknown class in Replace is an error
// naming it.
func LearnWith(components Components, base *Policy, o LearnOptions) (*Policy, error) {
	p := Default()
	if base != nil {
		p = base.Clone()
	}
	for _, class := range o.Replace {
		list := p.References.classPtr(class)
		if list == nil {
			return nil, fmt.Errorf("replace: %q is not a component class (one of %v)", class, Classes)
		}
		*list = nil
	}
	p = Learn(components, p)
	for _, class := range Classes {
		measured := components.Class(class)
		if len(measured) == 0 {
			continue
		}
		list := *p.References.classPtr(class)
		for i := range list {
			setExpiry(&list[i], measured, o.ExpireAt)
		}
	}
	return p, nil
}

// setExpiry clears the expiry of a reference the boot matched, and gives
// a superseded one the expiry at, unless it already lapses earlier.
func setExpiry(r *Reference, measured Components, at time.Time) {
	if allowedBy(*r, measured) {
		r.Expires = time.Time{}
		return
	}
	if at.IsZero() || (!r.Expires.IsZero() && r.Expires.Before(at)) {
		return
	}
	r.Expires = at.UTC()
}

// allowedBy reports whether the reference matches one of the components.
func allowedBy(r Reference, cs Components) bool {
	for _, c := range cs {
		if r.Matches(c) {
			return true
		}
	}
	return false
}
