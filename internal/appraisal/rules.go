package appraisal

import (
	"slices"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// The rules below are the verifier's own, exported as pure functions so
// that offline tools (`bootproof eventlog replay`) apply them as they are
// and never a more lenient copy.

// decisionBanks are the banks a decision may rest on, strongest first:
// SHA-1 alone cannot prove a boot (collisions).
var decisionBanks = []eventlog.Alg{eventlog.SHA512, eventlog.SHA384, eventlog.SHA256}

// MissingBanks returns the banks the log declares, in its order, for which
// given reports no PCR values. Banks no one can replay (SM3) are left out:
// they prove nothing either way. A missing bank is a bank downgrade: the
// host could hide in it what the other banks show.
func MissingBanks(declared []eventlog.Alg, given func(eventlog.Alg) bool) []eventlog.Alg {
	var out []eventlog.Alg
	for _, bank := range declared {
		if _, ok := bank.Hash(); ok && !given(bank) {
			out = append(out, bank)
		}
	}
	return out
}

// DecisionBank returns the strongest bank of SHA-256 or better that the log
// declares and given has values for: the bank whose events the decisions
// read. ok is false when there is none.
func DecisionBank(declared []eventlog.Alg, given func(eventlog.Alg) bool) (bank eventlog.Alg, ok bool) {
	for _, b := range decisionBanks {
		if given(b) && slices.Contains(declared, b) {
			return b, true
		}
	}
	return 0, false
}

// RequiredPCRs are the PCRs the values of every bank must cover: 0-7 and
// every PCR the log has measured events for, less the ignored ones.
func RequiredPCRs(log *eventlog.Log, ignored func(pcr int) bool) []int {
	var need [eventlog.NumPCRs]bool
	for i := 0; i < alwaysQuoted; i++ {
		need[i] = true
	}
	for i := range log.Events {
		e := &log.Events[i]
		if e.Type != eventlog.EvNoAction && e.PCR >= 0 && e.PCR < eventlog.NumPCRs {
			need[e.PCR] = true
		}
	}
	var out []int
	for pcr, n := range need {
		if n && !ignored(pcr) {
			out = append(out, pcr)
		}
	}
	return out
}

// ProvenSecureBoot reads the Secure Boot state from verified, the events
// the decision bank proved. The data of the Secure Boot events is bound by
// a proven digest: SHA-256's when that bank replayed (fastest to compute),
// else the decision bank's.
func ProvenSecureBoot(verified []eventlog.Event, decision eventlog.Alg, replayed []eventlog.Alg) (*uefi.SecureBoot, error) {
	bind := decision
	if slices.Contains(replayed, eventlog.SHA256) {
		bind = eventlog.SHA256
	}
	return uefi.SecureBootStateBoundBy(verified, bind)
}

// Secure Boot states, as every surface names them.
const (
	SecureBootOn      = "on"
	SecureBootOff     = "off"
	SecureBootUnknown = "unknown"
)

// SecureBootStateOf classifies a proven Secure Boot state as the verifier
// judges it: a firmware in debug mode enforced nothing (off), and a boot
// that did not measure the SecureBoot variable shows nothing (unknown).
func SecureBootStateOf(sb *uefi.SecureBoot) string {
	switch {
	case sb.DebugMode:
		return SecureBootOff
	case !sb.Measured:
		return SecureBootUnknown
	case sb.Enabled:
		return SecureBootOn
	}
	return SecureBootOff
}
