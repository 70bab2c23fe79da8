package policy

import "fmt"

// Add appends a reference value to a class (see Classes). It does not
// look for duplicates: callers ask Match first, as Learn does.
func (r *References) Add(class string, ref Reference) error {
	list := r.classPtr(class)
	if list == nil {
		return fmt.Errorf("add reference: no component class %q", class)
	}
	*list = append(*list, ref)
	return nil
}
