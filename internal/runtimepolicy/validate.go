package runtimepolicy

import (
	"errors"
	"fmt"
	"sort"
)

// Validate checks that a policy is well formed and returns every problem
// at once (errors.Join, sorted), each naming the key at fault:
// `allow["/usr/bin/bash"][0]: digest "sha256:00": 1 bytes, sha256 is 32`.
func (p *Policy) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := checkMode(p.UnknownFiles); err != nil {
		add("unknown_files: %w", err)
	}
	for path, digests := range p.Allow {
		if path == "" {
			add("allow: an empty path")
		}
		if len(digests) == 0 {
			add("allow[%q]: no digests; remove the path or list its digests", path)
		}
		for i, d := range digests {
			if _, _, err := ParseDigest(d); err != nil {
				add("allow[%q][%d]: %w", path, i, err)
			}
		}
	}
	for i, g := range p.Exclude {
		if err := checkGlob(g); err != nil {
			add("exclude[%d]: %w", i, err)
		}
	}
	for i, d := range p.Deny {
		if _, _, err := ParseDigest(d.Digest); err != nil {
			add("deny[%d].digest: %w", i, err)
		}
		if err := checkMode(d.Mode); err != nil {
			add("deny[%d].mode: %w", i, err)
		}
	}
	for i, k := range p.TrustedKeys {
		if _, err := parseTrustedKey(k.Certificate); err != nil {
			add("trusted_keys[%d].certificate: %w", i, err)
		}
		if err := checkMode(k.Mode); err != nil {
			add("trusted_keys[%d].mode: %w", i, err)
		}
	}
	// Map order is random: sort, so the same policy reads the same.
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// checkMode accepts the two modes. Parse fills in enforce where a mode is
// absent, so an empty mode here is a policy built in code without one.
func checkMode(m string) error {
	switch m {
	case ModeEnforce, ModeLogOnly:
		return nil
	}
	return fmt.Errorf("%q, want %s or %s", m, ModeEnforce, ModeLogOnly)
}
