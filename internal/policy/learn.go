package policy

// Component is one measured part of a boot, taken from events a quote
// proved. Name comes from the event's data and is a label only: decisions
// compare digests, which replay covers, never names.
type Component struct {
	// Class is one of Classes.
	Class string `json:"class"`
	// Name is what the event's data calls the component (a path, a
	// command line, a firmware volume), for people.
	Name string `json:"name,omitempty"`
	// PCR and EventIndex locate the event in the log.
	PCR        int `json:"pcr"`
	EventIndex int `json:"event_index"`
	// NameProven says the event's digest is a hash of the data Name is
	// read from, and the data matched it. When false, Name is a label
	// from the host, unproven (a file path in a device path, a file
	// name GRUB logs beside the file's digest), or empty when the data
	// did not match its digest (eventlog.data_mismatch).
	NameProven bool `json:"name_proven"`
	// Digests are the event's digests, lowercase hex by bank name
	// ("sha256"), in every bank whose quote proved the event.
	Digests map[string]string `json:"digests"`
	// Authority is the common name of the certificate that verified the
	// image (a db entry, shim's built-in vendor certificate or a MokList
	// entry), read from the PCR 7 authority event logged beside it, and
	// AuthoritySHA256 that certificate's SHA-256 fingerprint. Empty when
	// no authority was logged for it (Secure Boot off, a verifier that
	// logs each certificate once per boot, or not an image).
	Authority       string `json:"authority,omitempty"`
	AuthoritySHA256 string `json:"authority_sha256,omitempty"`
	// AuthorityInferred says no authority event was logged for this
	// image: its certificate had been logged once already, for an earlier
	// image, by the only verifier that could have checked it (firmware
	// and shim log each certificate once per boot).
	AuthorityInferred bool `json:"authority_inferred,omitempty"`
	// Judged says the policy constrained the component's class when it
	// was appraised (the class had reference values). A component that
	// is not judged was accepted whatever its digest.
	Judged bool `json:"judged"`
	// Reference is the reference entry the component matched, as
	// Reference.String names it (label and digest); "" when it was not
	// judged or matched none. Set by the appraisal, never learnt.
	Reference string `json:"reference,omitempty"`
}

// Components are what a verified boot measured, in log order.
type Components []Component

// Class returns the components of one class, in log order.
func (cs Components) Class(class string) Components {
	var out Components
	for _, c := range cs {
		if c.Class == class {
			out = append(out, c)
		}
	}
	return out
}

// Matches reports whether a measured component is this reference: every
// bank both carry agrees, and they share a bank of SHA-256 or stronger.
func (r Reference) Matches(c Component) bool {
	return r.matches(digestsOf(c))
}

// bankDigests are a measurement's digests in the banks references carry, ""
// where it has none: read once from a component's map, then compared
// with many references (a learnt class holds tens to hundreds).
type bankDigests struct{ SHA1, SHA256, SHA384, SHA512 string }

// digestsOf reads a component's digests.
func digestsOf(c Component) bankDigests {
	return bankDigests{c.Digests["sha1"], c.Digests["sha256"], c.Digests["sha384"], c.Digests["sha512"]}
}

func (r Reference) matches(d bankDigests) bool {
	if d.SHA1 != "" && r.SHA1 != "" && d.SHA1 != r.SHA1 {
		return false
	}
	shared := 0
	for _, p := range [...][2]string{{r.SHA256, d.SHA256}, {r.SHA384, d.SHA384}, {r.SHA512, d.SHA512}} {
		if p[0] == "" || p[1] == "" {
			continue
		}
		if p[0] != p[1] {
			return false
		}
		shared++
	}
	return shared > 0
}

// Match returns the first reference of the component's class that matches
// it. constrained is false when the class has no reference values, in which
// case any component is accepted.
func (p *Policy) Match(c Component) (ref Reference, ok, constrained bool) {
	refs := p.References.Class(c.Class)
	for _, r := range refs {
		if r.Matches(c) {
			return r, true, true
		}
	}
	return Reference{}, false, len(refs) > 0
}

// Learn takes reference values from a known-good host's verified boot (a
// golden host): it returns a copy of base (Default when nil) whose reference
// lists also allow every component given, labelled with its name.
// Components already allowed are not added twice, so learning from several
// golden hosts gives the union of their boots. Components without a SHA-256
// or stronger digest are skipped: they could never match. To replace rather
// than extend, pass a base with empty References.
func Learn(components Components, base *Policy) *Policy {
	var p *Policy
	if base == nil {
		p = Default()
	} else {
		p = base.Clone()
	}
	for _, c := range components {
		list := p.References.classPtr(c.Class)
		if list == nil {
			continue
		}
		// Only the digests and the name: Judged and Reference are the
		// appraisal's, never a reference value's.
		ref := Reference{
			SHA1: c.Digests["sha1"], SHA256: c.Digests["sha256"],
			SHA384: c.Digests["sha384"], SHA512: c.Digests["sha512"],
		}
		if ref.SHA256 == "" && ref.SHA384 == "" && ref.SHA512 == "" {
			continue
		}
		if !allowed(*list, c) {
			ref.Label = uniqueLabel(*list, c.Name, ref)
			*list = append(*list, ref)
		}
	}
	return p
}

// allowed reports whether a reference of the list matches the component.
func allowed(list []Reference, c Component) bool {
	for _, r := range list {
		if r.Matches(c) {
			return true
		}
	}
	return false
}

// labelDigestLen is how many hex digits of a digest tell two references of
// the same name apart in their labels.
const labelDigestLen = 12

// uniqueLabel is the label of a new reference: the component's name, and
// when another reference of the list already has that label (two kernels
// both loaded from memory as "/vmlinuz (EFI image)"), the first hex digits
// of its digest too, which the TPM proved, so that an operator reading
// "matched: ..." can tell which one booted.
func uniqueLabel(list []Reference, name string, ref Reference) string {
	taken := false
	for _, r := range list {
		if r.Label == name {
			taken = true
			break
		}
	}
	if !taken {
		return name
	}
	bank, d := ref.strongest()
	if len(d) > labelDigestLen {
		d = d[:labelDigestLen]
	}
	if name == "" {
		return bank + ":" + d
	}
	return name + " (" + bank + ":" + d + ")"
}

// strongest is the reference's SHA-256 digest, or its strongest other one
// when it has none, with its bank's name.
func (r Reference) strongest() (bank, digest string) {
	for _, b := range []string{"sha256", "sha384", "sha512", "sha1"} {
		if d := r.Digest(b); d != "" {
			return b, d
		}
	}
	return "", ""
}
