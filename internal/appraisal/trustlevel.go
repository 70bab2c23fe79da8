package appraisal

import "github.com/bootproof/bootproof/internal/policy"

// Trust levels of a Passed verdict (Verdict.TrustLevel), as every surface
// names them.
const (
	// TrustSecureBootOnly: the group constrains no component, so any boot
	// that Secure Boot let run passes.
	TrustSecureBootOnly = "secure_boot_only"
	// TrustReferences: the group constrains at least one component class
	// (reference values, a signer rule or a per-host pin).
	TrustReferences = "references"
)

// CodeNoReferences fails a boot of a group that requires reference values
// (references_required) and constrains no component.
const CodeNoReferences = "policy.no_references"

// TrustLevelOf is the trust level a Passed boot has under p: whether the
// policy constrains any component beyond Secure Boot: reference values,
// a signer rule (who may have verified a class's images) or a per-host pin.
// Command-line rules alone do not: they judge arguments, not code.
func TrustLevelOf(p *policy.Policy) string {
	if len(p.PerHost) > 0 || len(p.Signers) > 0 {
		return TrustReferences
	}
	for _, class := range policy.Classes {
		if len(p.References.Class(class)) > 0 {
			return TrustReferences
		}
	}
	return TrustSecureBootOnly
}

// checkTrustLevel fails a group that requires reference values and has
// none, and gives a verdict still Passed its trust level.
func (a *appraisal) checkTrustLevel() {
	level := TrustLevelOf(a.in.Policy)
	if level == TrustSecureBootOnly && a.in.Policy.ReferencesRequired {
		a.fail(Check{Code: CodeNoReferences,
			Message: "The group's policy requires reference values (references_required) but constrains no component: no class has reference values or is pinned per host, so Secure Boot alone would pass any signed boot."})
	}
	if a.v.Status == Passed {
		a.v.TrustLevel = level
	}
}
