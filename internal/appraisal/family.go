package appraisal

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/wire"
)

// notTPM20 is the N/A verdict of a host enrolled without a TPM 2.0, or nil
// for a host enrolled with one. Only the enrolled family (proved at
// enrolment by the EK certificate and credential activation) decides: what
// a host's evidence claims never makes it N/A, or a TPM 2.0 host whose boot
// fails could escape its Failed by claiming to have no TPM.
func notTPM20(enrolled string) *Verdict {
	if enrolled == "" || enrolled == wire.FamilyTPM20 {
		return nil
	}
	return &Verdict{Status: NA, Checks: []Check{{Code: CodeNotTPM20, Found: enrolled,
		Message: fmt.Sprintf("The host enrolled without a TPM 2.0 (TPM family %s), so it cannot attest its boot.", enrolled)}}}
}

// familyMismatch is the failed check of a host enrolled with a TPM 2.0
// whose evidence claims another family (or none, or a misspelt one).
func familyMismatch(claimed string) Check {
	return Check{Code: CodeTPMFamilyMismatch, Expected: []string{wire.FamilyTPM20}, Found: fmt.Sprintf("%q", claimed),
		Message: fmt.Sprintf("The host enrolled with a TPM 2.0 but its evidence claims TPM family %q; "+
			"a TPM 2.0 host must answer with TPM 2.0 quotes.", claimed)}
}
