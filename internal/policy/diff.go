package policy

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Reference changes, as RefChange.Change names them.
const (
	RefAdded     = "added"
	RefRemoved   = "removed"
	RefExpires   = "expires"    // gained or changed its expiry
	RefUnexpired = "no_expiry"  // lost its expiry
	RefRelabeled = "relabelled" // same digests, another label
)

// Changes are what turns one policy into another, in a stable order: the
// reference changes class by class (policy.Classes order; removed and
// changed references in the old list's order, added ones in the new
// list's), then the settings by key. `policy learn` shows them before it
// applies anything, and policy history shows them per version.
type Changes struct {
	References []RefChange     `json:"references,omitempty"`
	Settings   []SettingChange `json:"settings,omitempty"`
}

// RefChange is one reference value gained, lost or changed.
type RefChange struct {
	Class  string `json:"class"`
	Change string `json:"change"`
	// Reference names the reference as verdicts do (Reference.String),
	// as it is in the new policy (in the old one when removed).
	Reference string `json:"reference"`
	// Expires is the new expiry (RFC 3339, UTC) of an added or
	// expiring reference; "" when it has none.
	Expires string `json:"expires,omitempty"`
}

// SettingChange is one setting whose value differs, by its dotted YAML key
// ("bundles.min_acceptance"); Old or New is "" when the key is unset on
// that side. Values are YAML in flow style.
type SettingChange struct {
	Key string `json:"key"`
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Empty reports whether the two policies were the same.
func (c Changes) Empty() bool { return len(c.References) == 0 && len(c.Settings) == 0 }

// Diff compares two policies: their reference lists, by digests, and every
// other setting by its YAML value (settings added to Policy later are
// compared without changing Diff). Both must be valid policies.
func Diff(old, new *Policy) Changes {
	var c Changes
	for _, class := range Classes {
		c.References = append(c.References, diffRefs(class, old.References.Class(class), new.References.Class(class))...)
	}
	c.Settings = diffSettings(settingValues(old), settingValues(new))
	return c
}

// refKey identifies a reference by its digests: two entries with the same
// digests are the same reference value, whatever their labels.
func refKey(r Reference) string {
	return r.SHA1 + "/" + r.SHA256 + "/" + r.SHA384 + "/" + r.SHA512
}

func diffRefs(class string, old, new []Reference) []RefChange {
	newByKey := make(map[string]Reference, len(new))
	for _, r := range new {
		newByKey[refKey(r)] = r
	}
	oldKeys := make(map[string]bool, len(old))
	var out []RefChange
	for _, o := range old {
		oldKeys[refKey(o)] = true
		n, kept := newByKey[refKey(o)]
		switch {
		case !kept:
			out = append(out, refChange(class, RefRemoved, o))
		case !n.Expires.Equal(o.Expires) && n.Expires.IsZero():
			out = append(out, refChange(class, RefUnexpired, n))
		case !n.Expires.Equal(o.Expires):
			out = append(out, refChange(class, RefExpires, n))
		case n.Label != o.Label:
			out = append(out, refChange(class, RefRelabeled, n))
		}
	}
	for _, n := range new {
		if !oldKeys[refKey(n)] {
			out = append(out, refChange(class, RefAdded, n))
		}
	}
	return out
}

func refChange(class, change string, r Reference) RefChange {
	rc := RefChange{Class: class, Change: change, Reference: r.String()}
	if !r.Expires.IsZero() && change != RefRemoved {
		rc.Expires = ExpiryText(r.Expires)
	}
	return rc
}

// settingValues flattens the policy without its reference lists to dotted
// keys and flow-style YAML values.
func settingValues(p *Policy) map[string]string {
	q := p.Clone()
	for _, class := range Classes {
		*q.References.classPtr(class) = nil
	}
	var n yaml.Node
	if err := n.Encode(q); err != nil {
		return map[string]string{"": "unencodable: " + err.Error()}
	}
	out := map[string]string{}
	flatten("", &n, out)
	return out
}

func flatten(prefix string, n *yaml.Node, out map[string]string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			flatten(key, n.Content[i+1], out)
		}
		return
	}
	setFlow(n)
	b, err := yaml.Marshal(n)
	if err != nil {
		out[prefix] = "unencodable: " + err.Error()
		return
	}
	out[prefix] = strings.TrimSpace(string(b))
}

// setFlow writes a value on one line, so that a changed list is one
// line of the diff.
func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

func diffSettings(old, new map[string]string) []SettingChange {
	keys := make(map[string]bool, len(old)+len(new))
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []SettingChange
	for _, k := range sorted {
		if old[k] != new[k] {
			out = append(out, SettingChange{Key: k, Old: old[k], New: new[k]})
		}
	}
	return out
}

// String writes the changes one a line, as a terminal or a page shows
// them: "+ kernel: LABEL (DIGEST)" for a reference gained, "- ..." for one
// lost, "~ ... expires T" for one gaining an expiry, "~ key: OLD -> NEW"
// for a setting. "no change" when there is none.
func (c Changes) String() string {
	if c.Empty() {
		return "no change\n"
	}
	var b strings.Builder
	for _, r := range c.References {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	for _, s := range c.Settings {
		fmt.Fprintf(&b, "~ %s: %s -> %s\n", s.Key, orUnset(s.Old), orUnset(s.New))
	}
	return b.String()
}

// String is one line of the diff.
func (r RefChange) String() string {
	switch r.Change {
	case RefAdded:
		s := "+ " + r.Class + ": " + r.Reference
		if r.Expires != "" {
			s += ", expires " + r.Expires
		}
		return s
	case RefRemoved:
		return "- " + r.Class + ": " + r.Reference
	case RefExpires:
		return "~ " + r.Class + ": " + r.Reference + " expires " + r.Expires
	case RefUnexpired:
		return "~ " + r.Class + ": " + r.Reference + " no longer expires"
	}
	return "~ " + r.Class + ": " + r.Reference + " " + r.Change
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
