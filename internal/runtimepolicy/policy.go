package runtimepolicy

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// MaxPolicyBytes bounds a runtime policy document. A distribution's
// executables, libraries and modules are a few 100,000 paths of about 150
// bytes each with one SHA-256 digest.
const MaxPolicyBytes = 64 << 20

// Modes: what a failing rule does to the host's verdict.
const (
	// ModeEnforce makes the host fail (the default).
	ModeEnforce = "enforce"
	// ModeLogOnly reports the file and leaves the verdict alone, so a
	// group can see what a new rule would fail before it enforces it.
	ModeLogOnly = "log-only"
)

// Policy is a group's IMA runtime policy. It is written as YAML (see
// docs/policy.md, "Runtime policy (IMA)") and will be the `runtime:` key of
// the group's policy. Start from Parse, or from a literal and call
// Validate; Compile turns a valid policy into the Judge that judges
// measurements.
type Policy struct {
	// UnknownFiles is the mode of a file that no rule allows: a path with
	// no allowed digests, or a digest not among its path's. Default
	// enforce.
	UnknownFiles string `yaml:"unknown_files"`
	// Allow maps an exact path, as the kernel logs it, to its allowed
	// digests, each "ALG:HEX" (sha256:3f...).
	Allow map[string][]string `yaml:"allow,omitempty"`
	// Exclude are globs of paths that are not judged (see MatchGlob):
	// files that change on every host, such as /tmp/* or /var/log/**.
	// A denied digest fails even under an excluded path.
	Exclude []string `yaml:"exclude,omitempty"`
	// Deny are digests that fail at any path, even excluded ones.
	Deny []DenyRule `yaml:"deny,omitempty"`
	// TrustedKeys are the keys whose IMA signatures allow a file without
	// a digest list entry.
	TrustedKeys []TrustedKey `yaml:"trusted_keys,omitempty"`
}

// DenyRule is one denied digest.
type DenyRule struct {
	// Digest is "ALG:HEX".
	Digest string `yaml:"digest"`
	// Label says why, for people ("openssl 3.0.2, CVE-2022-3602").
	Label string `yaml:"label,omitempty"`
	// Mode is enforce (default) or log-only.
	Mode string `yaml:"mode,omitempty"`
}

// TrustedKey is one IMA signing key, as an X.509 certificate.
type TrustedKey struct {
	// Certificate is one PEM CERTIFICATE block (RSA or ECDSA key).
	Certificate string `yaml:"certificate"`
	// Label names the key for people ("Fedora IMA CA").
	Label string `yaml:"label,omitempty"`
	// Mode is what a signature under this key that does not verify does:
	// enforce (default) fails the host, log-only reports it.
	Mode string `yaml:"mode,omitempty"`
}

// Default returns an empty policy that fails every file it meets: a group
// that turns runtime attestation on with nothing learnt sees every file.
func Default() *Policy {
	return &Policy{UnknownFiles: ModeEnforce}
}

// Parse reads a YAML runtime policy strictly: unknown keys, duplicate keys
// (two entries for one path), a second document and values of the wrong
// type are errors that name their line. Unset modes take their defaults.
// Parse does not validate the content: call Validate.
func Parse(b []byte) (*Policy, error) {
	if len(b) > MaxPolicyBytes {
		return nil, fmt.Errorf("parse runtime policy: %d bytes, more than the %d allowed", len(b), MaxPolicyBytes)
	}
	p := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse runtime policy: empty document")
		}
		return nil, fmt.Errorf("parse runtime policy: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("parse runtime policy: after the first document: %w", err)
		}
		return nil, fmt.Errorf("parse runtime policy: line %d: a second YAML document; a policy is one document", extra.Line)
	}
	p.fillDefaults()
	return p, nil
}

// fillDefaults sets the modes left empty to enforce.
func (p *Policy) fillDefaults() {
	if p.UnknownFiles == "" {
		p.UnknownFiles = ModeEnforce
	}
	for i := range p.Deny {
		if p.Deny[i].Mode == "" {
			p.Deny[i].Mode = ModeEnforce
		}
	}
	for i := range p.TrustedKeys {
		if p.TrustedKeys[i].Mode == "" {
			p.TrustedKeys[i].Mode = ModeEnforce
		}
	}
}

// Marshal writes the policy as YAML that Parse reads back to an equal
// policy. Paths are sorted, so a learnt policy diffs well.
func (p *Policy) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("marshal runtime policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal runtime policy: %w", err)
	}
	return buf.Bytes(), nil
}
