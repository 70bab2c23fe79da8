package appraisal

import (
	"bytes"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// shimLists are the variables shim logs into PCR 14 by name only (shim's
// mok.c, MOK_VARIABLE_LOG through tpm_log_event): an EV_IPL whose data is
// the name and a NUL, and whose digest is of the variable's contents.
var shimLists = map[string]bool{"MokList": true, "MokListX": true, "MokListTrusted": true, "MokSBState": true, "MokPolicy": true}

// shimListNote is what a MokList measurement's digest is of.
const shimListNote = "contents not in the log: shim logs the variable's name and extends the digest of its contents"

// shimList reports whether the event is one of shim's PCR 14 list events.
func shimList(e *eventlog.Event) bool {
	return e.PCR == 14 && e.Type == eventlog.EvIPL && shimLists[string(bytes.TrimSuffix(e.Data, []byte{0}))]
}

// describeShim fills SecureBoot.Shim from shim's proven measurements: its
// PCR 7 authorities (SbatLevel, MokSBState: the Secure Boot state's reading
// checked that their digests bind their data) and its PCR 14 lists.
func (a *appraisal) describeShim(verified []eventlog.Event, proven func(idx int) []eventlog.Alg, lying map[int]bool) {
	if a.sb == nil || a.v.SecureBoot == nil {
		return
	}
	var lists []Measurement
	for i := range verified {
		if e := &verified[i]; shimList(e) {
			lists = append(lists, measurementOf(e, proven(e.Index), lying))
		}
	}
	a.v.SecureBoot.Shim = shimState(a.sb, lists)
}

// shimState is shim's state from the proven Secure Boot state and shim's
// PCR 14 list measurements; nil when nothing shows shim ran.
func shimState(sb *uefi.SecureBoot, lists []Measurement) *ShimState {
	ran := len(lists) > 0
	s := &ShimState{MokLists: lists, Validation: "on"}
	for _, au := range sb.Authorities {
		if au.VendorGUID != uefi.ShimLock {
			continue
		}
		ran = true
		switch au.Variable {
		case "SbatLevel":
			s.SbatLevel = sbatText(au.Data)
		case "MokSBState":
			// shim reads a one-byte MokSBState; non-zero disables
			// verification (mok.c: user_insecure_mode).
			if len(au.Data) == 1 && au.Data[0] != 0 {
				s.Validation = "off"
			}
		}
	}
	if !ran {
		return nil
	}
	if !sb.Enabled {
		s.Validation = "off"
	}
	return s
}

// sbatText shows SbatLevel's CSV text: lines kept, other control
// characters replaced, trailing NULs dropped, cut visibly (clip) past 256
// bytes (a 2025 level is under 100).
func sbatText(d []byte) string {
	return clip(strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n') || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, strings.TrimRight(string(d), "\x00")))
}
