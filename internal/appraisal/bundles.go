package appraisal

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/policy"
)

// checkBundles judges the host's bundle inventory against the measured
// modules. It runs when the host sent bundles or the policy names trusted
// bundle roots; a group without either does not use bundles.
//
// A module belongs to a bundle when a payload's SHA-256 or SHA-512 equals
// the module's proven digest in that bank. A module of a bundle that fails
// its signature or acceptance check is reported under that bundle, not
// again as unmeasured.
func (a *appraisal) checkBundles() {
	p := a.in.Policy
	files := a.in.Evidence.Bundles
	if len(files) == 0 && len(p.Bundles.TrustedRoots) == 0 {
		return
	}
	roots, err := p.TrustedRootCerts()
	if err != nil {
		// Validate parsed them already; this cannot happen.
		roots = nil
	}
	minAcc, _ := bundle.ParseAcceptance(p.Bundles.MinAcceptance)
	modules := bundlePayloads(a.v.Components)
	measured := make([]bool, len(modules))
	sigOK, accOK, covered := true, true, true

	// The memo, when the verifier gave one, spares parsing and verifying
	// the files it saw verify before; the descriptors it returns are
	// shared, so they are only read here.
	for i, ob := range a.in.BundleMemo.open(files, roots, a.in.Now) {
		if ob.parseErr != nil {
			sigOK = false
			a.v.Bundles = append(a.v.Bundles, Bundle{Name: fmt.Sprintf("bundle %d", i), Signature: "malformed"})
			a.fail(Check{Code: CodeBundleSignature, Component: fmt.Sprintf("bundle %d", i),
				Message: fmt.Sprintf("Bundle %d of the inventory cannot be read: %v.", i, ob.parseErr)})
			continue
		}
		d := ob.desc
		id := d.Name + " " + d.Version
		info := Bundle{Name: d.Name, Version: d.Version, Vendor: d.Vendor, Acceptance: d.Acceptance.String(), Signature: "valid"}
		if err := ob.sigErr; err != nil {
			sigOK = false
			info.Signature = err.Error()
			a.fail(Check{Code: CodeBundleSignature, Component: id,
				Message: fmt.Sprintf("Bundle %s is not signed by a trusted vendor: %v.", id, err)})
		}
		if d.Acceptance < minAcc {
			accOK = false
			a.fail(Check{Code: CodeBundleAcceptance, Component: id,
				Message:  fmt.Sprintf("Bundle %s is at acceptance level %s, below the group's minimum %s.", id, d.Acceptance, minAcc),
				Expected: []string{fmt.Sprintf(">= %s", minAcc)}, Found: d.Acceptance.String()})
		}
		a.v.Bundles = append(a.v.Bundles, info)
		for _, pl := range d.Payloads {
			seen := false
			for j, m := range modules {
				switch payloadMatch(pl, m) {
				case matchYes:
					measured[j], seen = true, true
				case matchConflict:
					measured[j], seen = true, true
					covered = false
					a.fail(Check{Code: CodeBundleDigest, Bank: a.v.Bank, PCR: intp(m.PCR), EventIndex: intp(m.EventIndex), Component: id + " " + pl.Name,
						Message:  fmt.Sprintf("Payload %s of bundle %s does not match what was measured.", pl.Name, id),
						Expected: []string{pl.SHA256, pl.SHA512}, Found: m.Digests[a.v.Bank]})
				}
			}
			if !seen {
				covered = false
				a.fail(Check{Code: CodeBundleNotMeasured, Component: id + " " + pl.Name,
					Message: fmt.Sprintf("Payload %s of bundle %s is installed but was not measured at boot.", pl.Name, id)})
			}
		}
	}
	unmeasuredOK := true
	for j, m := range modules {
		if !measured[j] {
			unmeasuredOK = false
			a.fail(Check{Code: CodeBundleUnmeasured, Bank: a.v.Bank, PCR: intp(m.PCR), EventIndex: intp(m.EventIndex), Component: shownName(m),
				Message: fmt.Sprintf("The %s %s%s was measured at boot but belongs to no bundle of the inventory.", classNoun[m.Class], quoteName(m.Name), unprovenNote(m)),
				Found:   m.Digests[a.v.Bank]})
		}
	}
	if sigOK {
		a.pass(CodeBundleSignature, "Every bundle is signed by a trusted vendor.")
	}
	if accOK {
		a.pass(CodeBundleAcceptance, "Every bundle is at or above the group's minimum acceptance level.")
	}
	if covered {
		a.pass(CodeBundleDigest, "Every bundle payload matches what was measured.")
		a.pass(CodeBundleNotMeasured, "Every bundle payload was measured at boot.")
	}
	if unmeasuredOK {
		a.pass(CodeBundleUnmeasured, "Every measured module belongs to a bundle.")
	}
}

// bundlePayloads are the measured components a bundle's payload can be,
// in log order: the boot modules, and the initramfs a bundle may ship
// (the initramfs was a module before it had a class of its own).
func bundlePayloads(cs policy.Components) policy.Components {
	var out policy.Components
	for _, c := range cs {
		if c.Class == policy.ClassModules || c.Class == policy.ClassInitrd {
			out = append(out, c)
		}
	}
	return out
}

type match int

const (
	matchNo match = iota
	matchYes
	// matchConflict: the module has the payload's name and one of its
	// digests, or its name and none of them: same payload, other bytes.
	matchConflict
)

// payloadMatch compares a bundle payload with a measured module by the
// digests both carry. A module with the payload's name but other digests
// is a conflict: the bundle says one thing, the boot loaded another.
func payloadMatch(pl bundle.Payload, m policy.Component) match {
	agree, disagree := 0, 0
	// An array, not a map literal: this runs for every payload and module
	// of every attestation.
	for _, d := range [...]struct{ bank, want string }{{"sha256", pl.SHA256}, {"sha512", pl.SHA512}} {
		got, ok := m.Digests[d.bank]
		want := d.want
		if !ok || want == "" {
			continue
		}
		if got == want {
			agree++
		} else {
			disagree++
		}
	}
	switch {
	case agree > 0 && disagree == 0:
		return matchYes
	case agree > 0 || (disagree > 0 && sameName(pl.Name, m.Name)):
		return matchConflict
	}
	return matchNo
}

// sameName compares a payload name with a module name from event data,
// which may carry a path.
func sameName(payload, module string) bool {
	if payload == module {
		return true
	}
	n := len(module) - len(payload)
	return n > 0 && module[n:] == payload && (module[n-1] == '/' || module[n-1] == '\\')
}
