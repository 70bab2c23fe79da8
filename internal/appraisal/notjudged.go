package appraisal

import (
	"encoding/hex"
	"slices"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// listNotJudged fills Verdict.NotJudged: every proven event that is
// neither a component nor read by the Secure Boot checks, in log order.
// Nothing is capped: an operator must see all a boot measured that no rule
// vouches for (a PC's PCR 1 holds a few dozen boot variables at most).
// verified are the best bank's proven events: events of PCRs the policy
// ignores and EV_NO_ACTION events (never extended) are not among them.
func (a *appraisal) listNotJudged(verified []eventlog.Event, proven func(idx int) []eventlog.Alg, lying map[int]bool) {
	components := make(map[int]bool, len(a.v.Components))
	for _, c := range a.v.Components {
		components[c.EventIndex] = true
	}
	var out []Measurement
	for i := range verified {
		e := &verified[i]
		banks := proven(e.Index)
		if len(banks) == 0 || components[e.Index] || readBySecureBoot(e, a.sb) {
			continue
		}
		out = append(out, measurementOf(e, banks, lying))
	}
	a.v.NotJudged = out
}

// secureBootVariables are the PCR 7 variables the Secure Boot checks read
// (or that only configure Secure Boot itself), by owner and name; any other
// PCR 7 variable is not judged.
var secureBootVariables = map[uefi.GUID]map[string]bool{
	uefi.GlobalVariable:        {"SecureBoot": true, "PK": true, "KEK": true, "AuditMode": true, "DeployedMode": true},
	uefi.ImageSecurityDatabase: {"db": true, "dbx": true, "dbt": true},
}

// readBySecureBoot reports whether the Secure Boot checks read the event,
// or it is structure: separators (every PCR's, checked by the replay and
// the PCR 7 rules), the Secure Boot variables, the debug mode action, and
// the authorities that name the certificate that verified an image (shown
// on the image's component and in SecureBoot.AuthorityCerts). Authorities
// without a certificate (shim's SbatLevel, MokSBState, MokListTrusted)
// verified nothing and no rule judges them. sb is nil when the PCR 7
// events could not be read; then no authority counts as read.
func readBySecureBoot(e *eventlog.Event, sb *uefi.SecureBoot) bool {
	switch {
	case e.Type == eventlog.EvSeparator:
		return true
	case e.PCR != 7:
		return false
	case e.Type == eventlog.EvEFIVariableDriverConfig:
		v, err := uefi.ParseVariableData(e.Data)
		return err == nil && secureBootVariables[v.VendorGUID][v.Name]
	case e.Type == eventlog.EvEFIAction:
		return string(e.Data) == "UEFI Debug Mode"
	case e.Type == eventlog.EvEFIVariableAuthority && sb != nil:
		return slices.ContainsFunc(sb.Authorities, func(au uefi.Authority) bool { return au.Event == e.Index && au.Cert != nil })
	}
	return false
}

// measurementOf names one proven event for people. The name is the event's
// data as a dump describes it; it is proven only where the event's digest
// binds that data in a proven bank (datadigest.go), and an event whose data
// does not match its digest (lying) is not named at all.
func measurementOf(e *eventlog.Event, banks []eventlog.Alg, lying map[int]bool) Measurement {
	m := Measurement{PCR: e.PCR, EventIndex: e.Index, Type: e.Type.String()}
	if !lying[e.Index] {
		m.Name = clip(uefi.Describe(*e))
		m.NameProven = nameProven(e, banks)
	}
	if slices.Contains(banks, eventlog.SHA256) {
		if d, ok := e.Digest(eventlog.SHA256); ok {
			m.SHA256 = hex.EncodeToString(d)
		}
	}
	if shimList(e) {
		m.Note = shimListNote
	}
	return m
}

// nameProven reports whether the event's digest binds the data its name is
// read from, in a proven bank of SHA-256 or better. The event is not lying
// (its caller checked), so checkDataDigests found its data to match in every
// proven bank, and it is not hashed again; but a boot variable whose digest
// is only of its VariableData (the EDK II quirk) has its contents proven,
// not its name, so the whole UEFI_VARIABLE_DATA must match.
func nameProven(e *eventlog.Event, banks []eventlog.Alg) bool {
	if !nameBound(e) || !slices.ContainsFunc(banks, func(b eventlog.Alg) bool { return b.Size() >= eventlog.SHA256.Size() }) {
		return false
	}
	if e.Type == eventlog.EvEFIVariableBoot || e.Type == eventlog.EvEFIVariableBoot2 {
		return bindsData(e, banks, [][]byte{e.Data})
	}
	return true
}
