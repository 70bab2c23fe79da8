package appraisal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// CodeEventLogDataMismatch fails a verdict whose log carries an event whose
// data the measuring component hashes, but whose data does not hash to the
// digest the TPM proved: the host edited what the event names.
const CodeEventLogDataMismatch = "eventlog.data_mismatch"

// A dataRule says how an event's digest binds its data, after the TCG PC
// Client Platform Firmware Profile (PFP) or the documented behaviour of the
// component that measures it. hashed returns the bytes whose hash the
// digest is, one candidate per accepted form (a known quirk is a further,
// named candidate), or nil when the rule does not apply to the event.
// format is the log's (eventlog.FormatCryptoAgile or FormatSHA1Legacy).
type dataRule struct {
	name   string
	hashed func(e *eventlog.Event, format string) [][]byte
}

// whole is the PFP's usual rule: the digest is the hash of the event data.
func whole(e *eventlog.Event, _ string) [][]byte { return [][]byte{e.Data} }

// driverConfig is the PFP rule for EV_EFI_VARIABLE_DRIVER_CONFIG, the hash
// of the whole UEFI_VARIABLE_DATA, with the named quirk of firmware of the
// TCG EFI Platform 1.22 era, which hashed only the VariableData. The quirk
// is accepted only in a SHA-1 legacy log (which the appraisal never takes
// as proof of a boot): in a crypto-agile log the variable's name and GUID
// must be proven too, or a host could call any variable "SecureBoot".
func driverConfig(e *eventlog.Event, format string) [][]byte {
	out := [][]byte{e.Data}
	if v := variableData(e.Data); v != nil && format == eventlog.FormatSHA1Legacy {
		out = append(out, v)
	}
	return out
}

// authority is the PFP rule for EV_EFI_VARIABLE_AUTHORITY, the hash of the
// whole UEFI_VARIABLE_DATA, with the named quirk of shim (15.x and older):
// it logs its UEFI_VARIABLE_DATA with a few bytes of structure padding
// after the declared VariableData and hashes all it logs but the last
// byte, for its vendor certificate ("Shim") and for the db entry that
// verified an image. The quirk is accepted only when the padding holds
// nothing declared, so the GUID, the name and the whole certificate are
// still proven.
func authority(e *eventlog.Event, _ string) [][]byte {
	out := [][]byte{e.Data}
	n := len(e.Data)
	if end, ok := variableEnd(e.Data); ok && end < n && n-end <= maxShimPadding {
		out = append(out, e.Data[:n-1])
	}
	return out
}

// maxShimPadding bounds the padding shim logs after a UEFI_VARIABLE_DATA
// (struct alignment: under 8 bytes).
const maxShimPadding = 8

// grubStringPrefixes are the prefixes GRUB puts before a string it measures
// into PCR 8. GRUB hashes the string alone, without the prefix and without
// the NUL it logs (grub-core/commands/tpm.c, grub_tpm_verify_string; Red
// Hat's linuxefi logs "grub_kernel_cmdline " the same way).
var grubStringPrefixes = [][]byte{[]byte("grub_cmd: "), []byte("kernel_cmdline: "), []byte("module_cmdline: "), []byte("grub_kernel_cmdline ")}

// grubString is GRUB's rule for its PCR 8 strings.
func grubString(e *eventlog.Event, _ string) [][]byte {
	if e.PCR != 8 {
		return nil
	}
	for _, p := range grubStringPrefixes {
		if bytes.HasPrefix(e.Data, p) {
			s := bytes.TrimSuffix(e.Data[len(p):], []byte{0})
			return [][]byte{s}
		}
	}
	return nil
}

// bootVariable is the PFP rule for EV_EFI_VARIABLE_BOOT(2): the hash of the
// whole UEFI_VARIABLE_DATA; with the named quirk of EDK II (OVMF) and
// firmware built on it, which hash only the VariableData of Boot#### and
// BootOrder. Under the quirk the variable's name is not proven, only its
// contents; no component is named from it.
func bootVariable(e *eventlog.Event, _ string) [][]byte {
	out := [][]byte{e.Data}
	if v := variableData(e.Data); v != nil {
		out = append(out, v)
	}
	return out
}

// variableData returns the VariableData of a UEFI_VARIABLE_DATA (PFP
// §10.2.4: GUID, UINT64 name length in characters, UINT64 data length,
// UTF-16 name, data) that fills d exactly, or nil when it does not.
func variableData(d []byte) []byte {
	end, ok := variableEnd(d)
	if !ok || end != len(d) {
		return nil
	}
	return d[end-int(binary.LittleEndian.Uint64(d[24:32])):]
}

// variableEnd returns where the UEFI_VARIABLE_DATA at the start of d ends,
// by its declared lengths; ok is false when d is shorter than declared.
func variableEnd(d []byte) (end int, ok bool) {
	if len(d) < 32 {
		return 0, false
	}
	nameLen := binary.LittleEndian.Uint64(d[16:24])
	dataLen := binary.LittleEndian.Uint64(d[24:32])
	rest := uint64(len(d) - 32)
	if nameLen > rest/2 || dataLen > rest-2*nameLen {
		return 0, false
	}
	return 32 + int(2*nameLen+dataLen), true
}

// dataRules are the event types whose digest binds their data. Events of
// any other type name themselves unproven (see nameBound).
var dataRules = map[eventlog.EventType]dataRule{
	eventlog.EvSeparator:               {"PFP: EV_SEPARATOR is the hash of its data", whole},
	eventlog.EvEFIAction:               {"PFP: EV_EFI_ACTION is the hash of its string", whole},
	eventlog.EvEFIVariableDriverConfig: {"PFP: EV_EFI_VARIABLE_DRIVER_CONFIG is the hash of its UEFI_VARIABLE_DATA", driverConfig},
	eventlog.EvEFIVariableAuthority:    {"PFP: EV_EFI_VARIABLE_AUTHORITY is the hash of its UEFI_VARIABLE_DATA (shim: less the one byte more it logs)", authority},
	eventlog.EvEFIVariableBoot:         {"PFP: EV_EFI_VARIABLE_BOOT is the hash of its UEFI_VARIABLE_DATA (EDK II: of its VariableData)", bootVariable},
	eventlog.EvEFIVariableBoot2:        {"PFP: EV_EFI_VARIABLE_BOOT2 is the hash of its UEFI_VARIABLE_DATA (EDK II: of its VariableData)", bootVariable},
	eventlog.EvEFIGPTEvent:             {"PFP: EV_EFI_GPT_EVENT is the hash of its UEFI_GPT_DATA", whole},
	eventlog.EvSCRTMVersion:            {"PFP: EV_S_CRTM_VERSION is the hash of its version string", whole},
	eventlog.EvIPL:                     {"GRUB: a PCR 8 string is the hash of the text after its prefix", grubString},
}

// hashedForms returns what the event's digest must be the hash of, or nil
// when nothing binds its data.
func hashedForms(e *eventlog.Event, format string) [][]byte {
	r, ok := dataRules[e.Type]
	if !ok {
		return nil
	}
	return r.hashed(e, format)
}

// dataMatches reports whether the event's digest in bank is a hash of one
// of its accepted forms.
func dataMatches(bank eventlog.Alg, digest []byte, forms [][]byte) bool {
	for _, f := range forms {
		if bank.Matches(f, digest) {
			return true
		}
	}
	return false
}

// mismatch is one event whose data does not hash to its digest in bank.
type mismatch struct {
	event  *eventlog.Event
	bank   eventlog.Alg
	digest []byte
	form   []byte // the data as its rule hashes it
}

// findMismatches checks every event whose data its digest binds, in every
// bank proven returns for it, and returns the events that fail and how many
// events it checked.
func findMismatches(log *eventlog.Log, proven func(idx int) []eventlog.Alg) (bad []mismatch, checked int) {
	for i := range log.Events {
		e := &log.Events[i]
		forms := hashedForms(e, log.Format)
		banks := proven(e.Index)
		if forms == nil || len(banks) == 0 {
			continue
		}
		checked++
		if bindsData(e, banks, forms) {
			continue
		}
		for _, bank := range banks {
			if d, ok := e.Digest(bank); ok && !dataMatches(bank, d, forms) {
				bad = append(bad, mismatch{event: e, bank: bank, digest: d, form: forms[0]})
			}
		}
	}
	return bad, checked
}

// bindsData reports whether the event's digest in one proven bank of
// SHA-256 or better (SHA-256 itself when proven: the cheapest to hash on
// CPUs with SHA extensions) is a hash of its data. That binds the data (a
// lie would need a collision), so the other banks need no hashing. A
// mismatch there, or a host with only weaker banks, has every bank
// checked, and each mismatch reported.
func bindsData(e *eventlog.Event, banks []eventlog.Alg, forms [][]byte) bool {
	var best eventlog.Alg
	for _, b := range banks {
		if b == eventlog.SHA256 {
			best = b
			break
		}
		if b.Size() > best.Size() {
			best = b
		}
	}
	if best.Size() < 32 {
		return false
	}
	d, ok := e.Digest(best)
	return ok && dataMatches(best, d, forms)
}

// checkDataDigests fails the verdict for every event whose data does not
// match its digest in a bank that proved the event, and returns their
// indexes: their data is the host's word only and is never shown as what
// was found.
func (a *appraisal) checkDataDigests(log *eventlog.Log, proven func(idx int) []eventlog.Alg) map[int]bool {
	bad, checked := findMismatches(log, proven)
	lying := make(map[int]bool, len(bad))
	for _, m := range bad {
		lying[m.event.Index] = true
		a.fail(dataMismatch(m))
	}
	if len(bad) == 0 {
		a.pass(CodeEventLogDataMismatch, fmt.Sprintf("The data of every event whose digest is a hash of it matches (%d events).", checked))
	}
	return lying
}

// dataMismatch is the failed check for one event and bank. It names the
// event and shows the digests, never the data: the data is the lie.
func dataMismatch(m mismatch) Check {
	e, bank := m.event, m.bank
	return Check{Code: CodeEventLogDataMismatch, Bank: bank.String(), PCR: intp(e.PCR), EventIndex: intp(e.Index),
		Message: fmt.Sprintf("Event %d (%s, PCR %d): its data does not hash to its %s digest (%s), so what it names is not what was measured: the log was edited, or the component logged other than it measured. Its data is not shown as found.",
			e.Index, e.Type, e.PCR, bank, dataRules[e.Type].name),
		Expected: []string{hex.EncodeToString(m.digest)},
		Found:    hex.EncodeToString(bank.Sum(m.form))}
}

// nameBound reports whether an event's digest proves the data a component
// name is read from; checkDataDigests has already failed those that lie.
func nameBound(e *eventlog.Event) bool {
	return hashedForms(e, eventlog.FormatCryptoAgile) != nil
}
