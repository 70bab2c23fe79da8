package runtimepolicy

import (
	"errors"
	"fmt"
)

// Judge is a compiled policy: digests decoded and indexed, globs compiled,
// keys parsed, so judging an entry is a few map lookups. It is safe for
// concurrent use and does not change.
type Judge struct {
	unknownMode string
	allow       map[string][]digestRef // path → allowed digests
	deny        map[string][]denyRef   // raw digest → rules
	exclude     []glob
	keys        keyRing
}

// digestRef is a digest with its algorithm; sum is the raw bytes.
type digestRef struct{ alg, sum string }

// denyRef is one deny rule's digest.
type denyRef struct {
	alg   string
	index int
	rule  DenyRule
}

// Compile validates a policy and builds its Judge.
func Compile(p *Policy) (*Judge, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("runtime policy: %w", err)
	}
	j := &Judge{unknownMode: p.UnknownFiles, allow: make(map[string][]digestRef, len(p.Allow)), deny: map[string][]denyRef{}}
	for path, ds := range p.Allow {
		refs := make([]digestRef, len(ds))
		for i, d := range ds {
			alg, sum, _ := ParseDigest(d) // validated
			refs[i] = digestRef{alg, string(sum)}
		}
		j.allow[path] = refs
	}
	for i, d := range p.Deny {
		alg, sum, _ := ParseDigest(d.Digest)
		j.deny[string(sum)] = append(j.deny[string(sum)], denyRef{alg: alg, index: i, rule: d})
	}
	for i, g := range p.Exclude {
		c, err := compileGlob(g)
		if err != nil {
			return nil, fmt.Errorf("runtime policy: exclude[%d]: %w", i, err)
		}
		j.exclude = append(j.exclude, c)
	}
	var err error
	if j.keys, err = newKeyRing(p.TrustedKeys); err != nil {
		return nil, fmt.Errorf("runtime policy: %w", err)
	}
	return j, nil
}

// Judge decides one measurement. The rules apply in this order:
//
//  1. a denied digest fails, whatever the path (an excluded one too);
//  2. an excluded path is not judged;
//  3. a signature by a trusted key allows the file; one that a trusted
//     key's id claims but that does not verify fails with ima.signature
//     (the file changed after it was signed), even when the digest is
//     allowed; a signature by an unknown key, or one this verifier cannot
//     read, allows nothing and the digest decides;
//  4. a digest allowed for the exact path allows the file;
//  5. anything else is unknown (ima.unknown_file), in unknown_files' mode.
func (j *Judge) Judge(m *Measurement) Decision {
	d := Decision{index: m.Index, path: m.Path, hashAlg: m.HashAlg, fileHash: m.FileHash}
	if j.denied(m, &d) || j.excluded(m, &d) || j.signed(m, &d) {
		return d
	}
	for _, ref := range j.allow[m.Path] {
		if ref.alg == m.HashAlg && ref.sum == string(m.FileHash) {
			d.Outcome, d.Rule = AllowedByDigest, "allow" // the path's entry; no message is built
			return d
		}
	}
	j.unknown(m, &d)
	return d
}

// denied applies the deny rules.
func (j *Judge) denied(m *Measurement, d *Decision) bool {
	for _, ref := range j.deny[string(m.FileHash)] {
		if ref.alg != m.HashAlg {
			continue
		}
		d.Outcome, d.Code, d.Enforced = Denied, CodeDenied, ref.rule.Mode == ModeEnforce
		d.Rule = fmt.Sprintf("deny[%d]", ref.index)
		if ref.rule.Label != "" {
			d.detail = fmt.Sprintf(" (%s)", ref.rule.Label)
		}
		return true
	}
	return false
}

// excluded applies the exclude globs.
func (j *Judge) excluded(m *Measurement, d *Decision) bool {
	for i := range j.exclude {
		if j.exclude[i].match(m.Path) {
			d.Outcome, d.Rule = Excluded, fmt.Sprintf("exclude[%d] %q", i, j.exclude[i].text)
			return true
		}
	}
	return false
}

// signed applies the trusted keys to the entry's signature. It decides
// when a trusted key verifies it or refutes it; otherwise it records why
// the signature allowed nothing and lets the digest decide.
func (j *Judge) signed(m *Measurement, d *Decision) bool {
	if len(m.Signature) == 0 {
		return false
	}
	s, err := ParseSignature(m.Signature)
	if err == nil && s.Type == SigTypePortable {
		err = fmt.Errorf("%w: an EVM portable signature signs the file's metadata, not the digest the log holds", ErrSigVersion)
	}
	if err != nil {
		d.SigErr = err
		return false
	}
	key, err := j.keys.verify(s, m.HashAlg, m.FileHash)
	switch {
	case err == nil:
		d.Outcome, d.Rule = AllowedBySignature, j.keyName(key)
		return true
	case errors.Is(err, ErrBadSignature):
		d.Outcome, d.Code, d.Enforced = SignatureInvalid, CodeSignature, key.mode == ModeEnforce
		d.Rule, d.SigErr = j.keyName(key), err
		return true
	}
	d.SigErr = err
	return false
}

// keyName names a trusted key as a rule.
func (j *Judge) keyName(k *trustedKey) string {
	return fmt.Sprintf("trusted_keys[%d] %q", k.index, k.label)
}

// unknown decides a file no rule allowed, saying what was missing.
func (j *Judge) unknown(m *Measurement, d *Decision) {
	d.Outcome, d.Code, d.Rule = Unknown, CodeUnknownFile, "unknown_files"
	d.Enforced = j.unknownMode == ModeEnforce
	if n := len(j.allow[m.Path]); n > 0 {
		d.detail = fmt.Sprintf("the digest is not among the %d allowed for this path", n)
	} else {
		d.detail = "the path is not in the policy"
	}
	if d.SigErr != nil {
		d.detail += fmt.Sprintf("; its signature allows nothing: %v", d.SigErr)
	}
}
