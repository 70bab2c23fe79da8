package runtimepolicy

import (
	"bytes"
	"fmt"
	"sort"
)

// Learn builds a runtime policy from a golden host's measurements: base's
// settings (modes, excludes, deny rules, trusted keys) with its allow list
// replaced by every measured path and digest. It skips the boot
// aggregate, entries with no digest or an all-zero one (violations), paths
// base excludes, and files base already allows by signature or denies, so
// a distribution-signed host learns only its unsigned files.
func Learn(base *Policy, ms []Measurement) (*Policy, error) {
	j, err := Compile(base)
	if err != nil {
		return nil, fmt.Errorf("learn runtime policy: %w", err)
	}
	sets := map[string]map[string]bool{}
	for i := range ms {
		m := &ms[i]
		if !learnable(m) {
			continue
		}
		if _, ok := hashAlgs[m.HashAlg]; !ok || len(m.FileHash) != hashAlgs[m.HashAlg].Size() {
			return nil, fmt.Errorf("learn runtime policy: entry %d: %q: digest algorithm %q with %d bytes, want sha1, sha224, sha256, sha384 or sha512", m.Index, m.Path, m.HashAlg, len(m.FileHash))
		}
		switch j.Judge(m).Outcome {
		case Excluded, AllowedBySignature, Denied:
			continue
		}
		if sets[m.Path] == nil {
			sets[m.Path] = map[string]bool{}
		}
		sets[m.Path][FormatDigest(m.HashAlg, m.FileHash)] = true
	}
	p := base.clone()
	p.Allow = make(map[string][]string, len(sets))
	for path, set := range sets {
		ds := make([]string, 0, len(set))
		for d := range set {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		p.Allow[path] = ds
	}
	return p, nil
}

// learnable says whether an entry is a file to learn at all.
func learnable(m *Measurement) bool {
	if m.Path == BootAggregate || len(m.FileHash) == 0 {
		return false
	}
	return !bytes.Equal(m.FileHash, make([]byte, len(m.FileHash)))
}

// clone copies the policy's slices and map, so a learnt policy shares
// nothing with its base.
func (p *Policy) clone() *Policy {
	c := *p
	c.Exclude = append([]string(nil), p.Exclude...)
	c.Deny = append([]DenyRule(nil), p.Deny...)
	c.TrustedKeys = append([]TrustedKey(nil), p.TrustedKeys...)
	c.Allow = make(map[string][]string, len(p.Allow))
	for k, v := range p.Allow {
		c.Allow[k] = append([]string(nil), v...)
	}
	return &c
}
