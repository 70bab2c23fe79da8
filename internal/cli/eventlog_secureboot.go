package cli

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// replayCert is a certificate as `eventlog replay --json` shows it.
type replayCert struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

type replayDB struct {
	Certs  []replayCert `json:"certs"`
	Hashes int          `json:"hashes"`
}

type replayAuthority struct {
	Event    int         `json:"event"`
	Variable string      `json:"variable"`
	Cert     *replayCert `json:"cert,omitempty"`
}

// replayProof names the evidence for an on or off state.
type replayProof struct {
	// Banks are the banks of SHA-256 or better whose PCR 7 value the log
	// replayed to.
	Banks []string `json:"banks"`
	// EventsFrom is the bank whose proven events were read (the strongest).
	EventsFrom string `json:"events_from"`
	// Event is the log index of the event that decides: the SecureBoot
	// variable, or the "UEFI Debug Mode" action.
	Event    int    `json:"event"`
	Variable string `json:"variable"`
}

// replaySecureBoot is the Secure Boot state of `eventlog replay --json`.
// State is never derived from events no bank proved: a script reading it
// is not fooled by a log that does not replay.
type replaySecureBoot struct {
	State    string       `json:"state"` // on, off or unknown
	ProvenBy *replayProof `json:"proven_by,omitempty"`
	// Reason says why the state is unknown, or why a set variable is off.
	Reason      string            `json:"reason,omitempty"`
	DebugMode   bool              `json:"debug_mode"`
	PK          *replayDB         `json:"pk,omitempty"`
	KEK         *replayDB         `json:"kek,omitempty"`
	DB          *replayDB         `json:"db,omitempty"`
	DBX         *replayDB         `json:"dbx,omitempty"`
	Authorities []replayAuthority `json:"authorities,omitempty"`
	// proven is true when the variables above were read from proven events.
	proven bool
}

func unknownSecureBoot(format string, a ...any) *replaySecureBoot {
	return &replaySecureBoot{State: appraisal.SecureBootUnknown, Reason: fmt.Sprintf(format, a...)}
}

// secureBoot derives the state as the verifier does: from the events the
// decision bank proved, with the verifier's own functions.
func (r *replayRun) secureBoot() *replaySecureBoot {
	switch {
	case !r.hasDecision:
		return unknownSecureBoot("no bank of SHA-256 or better is both given and in the log, so nothing proves the PCR 7 events")
	case !r.proven:
		return unknownSecureBoot("the %s values do not prove the log, so its PCR 7 events prove nothing", r.decision)
	}
	if _, ok := r.values(r.decision)[7]; !ok {
		return unknownSecureBoot("no %s value for PCR 7 was given, so nothing proves its events", r.decision)
	}
	sb, err := appraisal.ProvenSecureBoot(r.verified, r.decision, r.replayed)
	if err != nil {
		return unknownSecureBoot("the PCR 7 events are not what honest firmware logs: %v", err)
	}
	out := &replaySecureBoot{State: appraisal.SecureBootStateOf(sb), DebugMode: sb.DebugMode}
	fillSecureBootDetail(out, sb)
	switch {
	case sb.DebugMode:
		out.ProvenBy = r.proof(sb.DebugEvent, "UEFI Debug Mode")
		out.Reason = "the firmware ran in UEFI debug mode, so Secure Boot enforced nothing"
	case out.State == appraisal.SecureBootUnknown:
		out.Reason = "the boot did not measure the SecureBoot variable, so nothing shows its state"
	default:
		out.ProvenBy = r.proof(sb.Event, "SecureBoot")
	}
	return out
}

func (r *replayRun) proof(event int, variable string) *replayProof {
	p := &replayProof{EventsFrom: r.decision.String(), Event: event, Variable: variable}
	for _, bank := range r.replayed {
		if _, ok := r.values(bank)[7]; ok && bank.Size() >= eventlog.SHA256.Size() {
			p.Banks = append(p.Banks, bank.String())
		}
	}
	return p
}

func fillSecureBootDetail(out *replaySecureBoot, sb *uefi.SecureBoot) {
	out.proven = true
	out.PK, out.KEK, out.DB, out.DBX = replayDBOf(sb.PK), replayDBOf(sb.KEK), replayDBOf(sb.DB), replayDBOf(sb.DBX())
	for _, a := range sb.Authorities {
		ra := replayAuthority{Event: a.Event, Variable: a.Variable}
		if a.Cert != nil {
			a.Cert.ReadNames()
			ra.Cert = &replayCert{Subject: a.Cert.Subject, SHA256: hex.EncodeToString(a.Cert.SHA256[:])}
		}
		out.Authorities = append(out.Authorities, ra)
	}
}

func replayDBOf(db *uefi.SignatureDB) *replayDB {
	if db == nil {
		return nil
	}
	r := &replayDB{Certs: []replayCert{}, Hashes: len(db.Hashes) + len(db.Other)}
	for _, c := range db.Certs {
		c.ReadNames()
		r.Certs = append(r.Certs, replayCert{Subject: c.Subject, SHA256: hex.EncodeToString(c.SHA256[:])})
	}
	return r
}

// writeReplayText says what the JSON says, for a person: each bank, each
// problem with its code, then the Secure Boot state and its proof.
func writeReplayText(w io.Writer, out *replayOutput) {
	for _, b := range out.Banks {
		writeReplayBankText(w, b)
	}
	for _, p := range out.Problems {
		fmt.Fprintf(w, "refused (%s): %s\n", p.Code, p.Message)
	}
	if len(out.IgnoredPCRs) > 0 {
		fmt.Fprintf(w, "ignored PCRs: %s\n", pcrList(out.IgnoredPCRs))
	}
	writeSecureBootText(w, out.SecureBoot)
}

func writeReplayBankText(w io.Writer, b replayBank) {
	switch {
	case b.Skipped != "":
		fmt.Fprintf(w, "%s: not replayed: %s\n", b.Bank, b.Skipped)
		return
	case b.Error != "":
		fmt.Fprintf(w, "%s: cannot replay: %s\n", b.Bank, b.Error)
		return
	case b.Match:
		fmt.Fprintf(w, "%s: match (%d PCRs)\n", b.Bank, len(b.PCRs))
	default:
		fmt.Fprintf(w, "%s: mismatch\n", b.Bank)
	}
	for _, p := range b.PCRs {
		switch p.Status {
		case eventlog.StatusMismatch:
			fmt.Fprintf(w, "  PCR %d: mismatch (%d events)\n    want %s\n    got  %s\n", p.PCR, p.Events, p.Want, p.Got)
		case eventlog.StatusUnlogged:
			fmt.Fprintf(w, "  PCR %d: a value but no events in the log (mismatch unless ignored): %s\n", p.PCR, p.Want)
		}
	}
	if len(b.NotGiven) > 0 {
		fmt.Fprintf(w, "  not given: PCR %s\n", pcrList(b.NotGiven))
	}
}

func writeSecureBootText(w io.Writer, sb *replaySecureBoot) {
	line := "Secure Boot: " + sb.State
	if p := sb.ProvenBy; p != nil {
		line += fmt.Sprintf(" (proven by %s PCR 7: %s at event %d)", strings.Join(p.Banks, "+"), p.Variable, p.Event)
	}
	if sb.Reason != "" {
		line += ": " + sb.Reason
	}
	fmt.Fprintln(w, line)
	if !sb.proven {
		return
	}
	for _, v := range []struct {
		name string
		db   *replayDB
	}{{"PK", sb.PK}, {"KEK", sb.KEK}, {"db", sb.DB}, {"dbx", sb.DBX}} {
		if v.db == nil {
			fmt.Fprintf(w, "  %-4s not measured\n", v.name)
			continue
		}
		fmt.Fprintf(w, "  %-4s %d certificates, %d hashes\n", v.name, len(v.db.Certs), v.db.Hashes)
		for _, c := range v.db.Certs {
			fmt.Fprintf(w, "         %s  %s\n", c.SHA256[:16], c.Subject)
		}
	}
	for _, a := range sb.Authorities {
		who := "(no certificate)"
		if a.Cert != nil {
			who = a.Cert.SHA256[:16] + "  " + a.Cert.Subject
		}
		fmt.Fprintf(w, "  authority event %d from %s: %s\n", a.Event, a.Variable, who)
	}
}
