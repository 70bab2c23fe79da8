package appraisal

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// event is a crafted event that logs data and whose digests are of measured
// (of data when measured is nil).
func event(pcr int, typ eventlog.EventType, data, measured []byte) eventlog.Event {
	if measured == nil {
		measured = data
	}
	return eventlog.Event{PCR: pcr, Type: typ, Data: data, Digests: digestsOf(measured)}
}

// TestNotJudged checks which proven events Verdict.NotJudged lists: not
// components, not what the Secure Boot checks read, not separators, not
// events of PCRs no bank proved; everything else, in log order.
func TestNotJudged(t *testing.T) {
	dbCert, dbHashed := shimAuthority("db", []byte{0x30, 0x82, 0, 3, 1, 2, 3})
	shimSBState := uefi.EncodeVariableData(uefi.ShimLock.String(), "MokSBState", []byte{1})
	events := []eventlog.Event{
		event(0, eventlog.EvSCRTMVersion, []byte("1.0\x00"), nil),                                                     // 0 firmware component
		event(7, eventlog.EvEFIVariableDriverConfig, sbVar("SecureBoot", []byte{1}), nil),                             // 1 read
		event(7, eventlog.EvEFIVariableDriverConfig, uefi.EncodeVariableData(imageSecurity, "dbt", nil), nil),         // 2 read
		event(7, eventlog.EvEFIVariableDriverConfig, sbVar("DeployedMode", []byte{0}), nil),                           // 3 read
		event(7, eventlog.EvEFIVariableDriverConfig, uefi.EncodeVariableData(imageSecurity, "Vendor", nil), nil),      // 4 not judged
		event(7, eventlog.EvSeparator, separator, nil),                                                                // 5 structure
		event(1, eventlog.EvEFIVariableBoot, uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{1, 0}), nil), // 6 not judged
		event(4, eventlog.EvEFIAction, []byte("Calling EFI Application from Boot Option"), nil),                       // 7 not judged
		event(7, eventlog.EvEFIVariableAuthority, dbCert, dbHashed),                                                   // 8 read: verified an image
		event(7, eventlog.EvEFIVariableAuthority, shimSBState, nil),                                                   // 9 not judged
		event(14, eventlog.EvIPL, []byte("MokList\x00"), []byte("the MokList")),                                       // 10 not judged
		event(10, eventlog.EvIPL, []byte("ima"), nil),                                                                 // 11 PCR ignored
		event(7, eventlog.EvEFIAction, []byte("UEFI Debug Mode"), nil),                                                // 12 read
		event(3, eventlog.EvSeparator, separator, nil),                                                                // 13 structure
	}
	for i := range events {
		events[i].Index = i
	}
	sb, err := uefi.SecureBootState(events)
	if err != nil {
		t.Fatal(err)
	}
	proven := func(idx int) []eventlog.Alg {
		if events[idx].PCR == 10 {
			return nil
		}
		return []eventlog.Alg{eventlog.SHA1, eventlog.SHA256}
	}
	tests := []struct {
		name       string
		components []int
		sb         *uefi.SecureBoot
		want       []int
	}{
		{"components and Secure Boot events are judged", []int{0}, sb, []int{4, 6, 7, 9, 10}},
		{"an event that is no component is listed", nil, sb, []int{0, 4, 6, 7, 9, 10}},
		{"no authority is read when PCR 7 could not be", []int{0}, nil, []int{4, 6, 7, 8, 9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &appraisal{v: &Verdict{}, sb: tt.sb}
			for _, idx := range tt.components {
				a.v.Components = append(a.v.Components, policy.Component{EventIndex: idx})
			}
			a.listNotJudged(events, proven, nil)
			var got []int
			for _, m := range a.v.NotJudged {
				got = append(got, m.EventIndex)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("not judged (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMeasurementNames checks how a not-judged event is named: by its
// data, proven only where its digest binds that data in a proven bank,
// never named when its data lies, and with its SHA-256 digest only when
// that bank is proven.
func TestMeasurementNames(t *testing.T) {
	bootOrder := uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{1, 0})
	sha256Only := []eventlog.Alg{eventlog.SHA256}
	tests := []struct {
		name  string
		e     eventlog.Event
		banks []eventlog.Alg
		lying bool
		want  Measurement
	}{
		{"GRUB command, bound", event(8, eventlog.EvIPL, []byte("grub_cmd: set timeout=0\x00"), []byte("set timeout=0")), sha256Only, false,
			Measurement{PCR: 8, Type: "EV_IPL", Name: "grub_cmd: set timeout=0", NameProven: true, SHA256: hexs(sha([]byte("set timeout=0")))}},
		{"shim's MokList: name only, contents not in the log", event(14, eventlog.EvIPL, []byte("MokList\x00"), []byte("keys")), sha256Only, false,
			Measurement{PCR: 14, Type: "EV_IPL", Name: "MokList", SHA256: hexs(sha([]byte("keys"))), Note: shimListNote}},
		{"boot variable, whole UEFI_VARIABLE_DATA hashed", event(1, eventlog.EvEFIVariableBoot, bootOrder, nil), sha256Only, false,
			Measurement{PCR: 1, Type: "EV_EFI_VARIABLE_BOOT", Name: "BootOrder = 0001", NameProven: true, SHA256: hexs(sha(bootOrder))}},
		{"boot variable as EDK II hashes it: name unproven", event(1, eventlog.EvEFIVariableBoot, bootOrder, []byte{1, 0}), sha256Only, false,
			Measurement{PCR: 1, Type: "EV_EFI_VARIABLE_BOOT", Name: "BootOrder = 0001", SHA256: hexs(sha([]byte{1, 0}))}},
		{"data that lies is not named", event(4, eventlog.EvEFIAction, []byte("Calling EFI Application from Boot Option"), []byte("other")), sha256Only, true,
			Measurement{PCR: 4, Type: "EV_EFI_ACTION", SHA256: hexs(sha([]byte("other")))}},
		{"SHA-1 alone proves no name and shows no SHA-256", event(4, eventlog.EvEFIAction, []byte("Exit Boot Services Invocation"), nil), []eventlog.Alg{eventlog.SHA1}, false,
			Measurement{PCR: 4, Type: "EV_EFI_ACTION", Name: "Exit Boot Services Invocation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := measurementOf(&tt.e, tt.banks, map[int]bool{0: tt.lying})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("measurement (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNotJudgedCorpus is the property every appraisal keeps: on every real
// log of the corpus that has PCR values, each proven event is exactly one
// of a component, an event the Secure Boot checks read (found here from
// the event itself) or a NotJudged measurement; no unproven event is any.
func TestNotJudgedCorpus(t *testing.T) {
	n := 0
	for _, c := range appraisableCorpus(t) {
		n++
		t.Run(c.Name, func(t *testing.T) {
			v, p := appraiseCorpusCase(t, c)
			if v.Bank == "" {
				t.Skip("nothing proven: the replay failed")
			}
			log, _ := eventlog.Parse(c.Log)
			sb, _ := uefi.SecureBootState(log.Events)
			kinds := map[int][]string{}
			for _, comp := range v.Components {
				kinds[comp.EventIndex] = append(kinds[comp.EventIndex], "component")
			}
			for _, m := range v.NotJudged {
				kinds[m.EventIndex] = append(kinds[m.EventIndex], "not judged")
			}
			for _, e := range log.Events {
				if secureBootEvent(e, sb) {
					kinds[e.Index] = append(kinds[e.Index], "Secure Boot")
				}
				_, quoted := c.PCRs[eventlog.SHA256][e.PCR]
				proven := quoted && !p.Ignored(e.PCR) && e.Type != eventlog.EvNoAction
				switch k := kinds[e.Index]; {
				case proven && len(k) != 1:
					t.Errorf("event %d (PCR %d, %v, %q) is %v, want exactly one", e.Index, e.PCR, e.Type, uefi.Describe(e), k)
				case !proven && slices.Contains(k, "not judged"):
					t.Errorf("event %d (PCR %d, %v) is not proven but listed as not judged", e.Index, e.PCR, e.Type)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus case qualified")
	}
}

// secureBootEvent is what the Secure Boot checks read, found from the event
// alone: separators, the PCR 7 Secure Boot variables by name, the debug
// mode action and the authorities that name a certificate.
func secureBootEvent(e eventlog.Event, sb *uefi.SecureBoot) bool {
	if e.Type == eventlog.EvSeparator {
		return true
	}
	if e.PCR != 7 {
		return false
	}
	switch e.Type {
	case eventlog.EvEFIVariableDriverConfig:
		v, err := uefi.ParseVariableData(e.Data)
		return err == nil && slices.Contains([]string{"SecureBoot", "PK", "KEK", "db", "dbx", "dbt", "AuditMode", "DeployedMode"}, v.Name)
	case eventlog.EvEFIAction:
		return string(e.Data) == "UEFI Debug Mode"
	case eventlog.EvEFIVariableAuthority:
		return sb != nil && slices.ContainsFunc(sb.Authorities, func(a uefi.Authority) bool { return a.Event == e.Index && a.Cert != nil })
	}
	return false
}

// TestNotJudgedIgnoredPCR appraises the real Debian boot with a policy that
// ignores PCR 14: shim's MOK lists are then not proven, so they are neither
// listed as not judged nor shown as shim's state; SbatLevel (PCR 7) is.
func TestNotJudgedIgnoredPCR(t *testing.T) {
	c := debianQEMU(t, "sb-on")
	log, err := eventlog.Parse(c.Log)
	if err != nil {
		t.Fatal(err)
	}
	for _, ignore := range []bool{false, true} {
		p := corpusPolicy(log, c)
		if ignore {
			p.PCRsIgnore = append(p.PCRsIgnore, 14)
		}
		ak := newSoftwareAK(t)
		v, err := Appraise(Input{Evidence: corpusEvidence(t, c, ak), AKPublic: ak.public(), Nonce: testNonce, Policy: p, Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		var pcr14 []int
		for _, m := range v.NotJudged {
			if m.PCR == 14 {
				pcr14 = append(pcr14, m.EventIndex)
			}
		}
		if want := map[bool]int{false: 3, true: 0}[ignore]; len(pcr14) != want || len(v.SecureBoot.Shim.MokLists) != want {
			t.Errorf("PCR 14 ignored %v: not judged PCR 14 events %v, MOK lists %d; want %d of each", ignore, pcr14, len(v.SecureBoot.Shim.MokLists), want)
		}
		if v.SecureBoot.Shim.SbatLevel == "" {
			t.Errorf("PCR 14 ignored %v: no SbatLevel", ignore)
		}
	}
}
