package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
)

// editedOption is what the attacker appends to the measured command line.
const editedOption = " init=/bin/sh"

// TestEditedCommandLineIsNotFound: a host with a real TPM boots the
// emulated chain, whose loader measures the kernel command line into PCR 8
// as the hash of its text (as GRUB does), then sends its log with that
// text edited and the digests kept, so the log still replays and the
// digest still matches the group's reference. The verdict fails with
// eventlog.data_mismatch naming the bank, PCR 8 and the event, and neither
// the API's verdict nor the web host page shows the edited text.
func TestEditedCommandLineIsNotFound(t *testing.T) {
	f := newFleet(t)
	e := f.newEvil(t, "names-01", emuhost.Good, 0)
	cmdline := commandLineEvent(t, e.boot.EventLog)
	f.attackPolicy(func(p *policy.Policy) {
		p.References.BootOptions = commandLineReferences(t, e.boot.EventLog)
	})
	e.enroll(f.joinToken(e.name, "10m"))
	e.attestHonestly()

	ev := e.evidence(e.nonce())
	ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
		i := findEvent(t, evs, func(x eventlog.Event) bool { return x.PCR == 8 && bytes.Equal(x.Data, cmdline.Data) })
		evs[i].Data = append(bytes.Clone(cmdline.Data), editedOption...)
		return evs
	})
	if a, res := e.submit(ev); a.Status != 200 || res.Status != "Failed" {
		t.Fatalf("answer %v %+v, want 200 Failed", a, res)
	}

	var h api.HostDetail
	raw := f.apiGet(t, "/api/v1/hosts/"+e.name, &h)
	if h.Status != "Failed" || h.ReasonCode != appraisal.CodeEventLogDataMismatch {
		t.Errorf("host %s (%s: %s), want Failed (%s)", h.Status, h.ReasonCode, h.Reason, appraisal.CodeEventLogDataMismatch)
	}
	if h.Verdict == nil {
		t.Fatal("no verdict in the host's detail")
	}
	checkMismatchEvidence(t, h.Verdict, cmdline, e.boot.Banks)
	if strings.Contains(raw, strings.TrimSpace(editedOption)) {
		t.Errorf("GET /api/v1/hosts/%s shows the edited command line:\n%s", e.name, raw)
	}

	o := f.operator(t)
	page := readBody(t, o.get(t, "/hosts/"+e.name, o.signIn(t)))
	if !strings.Contains(page, appraisal.CodeEventLogDataMismatch) {
		t.Errorf("the host page does not name %s:\n%s", appraisal.CodeEventLogDataMismatch, page)
	}
	if strings.Contains(page, strings.TrimSpace(editedOption)) {
		t.Errorf("the host page shows the edited command line:\n%s", page)
	}

	// A kernel the group does not pin: its name is a label from the host
	// (the file name the loader logs beside the kernel's hash), and the
	// page says so wherever it shows it.
	f.attackPolicy(func(p *policy.Policy) {
		p.References.Kernel = []policy.Reference{{SHA256: strings.Repeat("ab", 32), Label: "another kernel"}}
	})
	if a, res := e.submit(e.evidence(e.nonce())); a.Status != 200 || res.Status != "Failed" {
		t.Fatalf("honest evidence, kernel not pinned: answer %v %+v, want 200 Failed", a, res)
	}
	page = readBody(t, o.get(t, "/hosts/"+e.name, o.signIn(t)))
	if !strings.Contains(page, "("+appraisal.UnprovenLabel+")") {
		t.Errorf("the host page does not mark the kernel's name %q:\n%s", appraisal.UnprovenLabel, page)
	}
}

// commandLineEvent returns the PCR 8 event of the emulated loader that
// measures the kernel command line.
func commandLineEvent(t *testing.T, log []byte) eventlog.Event {
	t.Helper()
	l, err := eventlog.Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	return l.Events[findEvent(t, l.Events, func(x eventlog.Event) bool {
		return x.PCR == 8 && x.Type == eventlog.EvIPL && bytes.HasPrefix(x.Data, []byte(emuhost.KernelCmdlinePrefix))
	})]
}

// commandLineReferences are the measured command lines of the emulated
// boot (the kernel's and each module's) as reference values: the
// honest boot matches them.
func commandLineReferences(t *testing.T, log []byte) []policy.Reference {
	t.Helper()
	l, err := eventlog.Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	var refs []policy.Reference
	for _, x := range l.Events {
		if x.PCR == 8 && (bytes.HasPrefix(x.Data, []byte(emuhost.KernelCmdlinePrefix)) || bytes.HasPrefix(x.Data, []byte("module_cmdline: "))) {
			d, _ := x.Digest(eventlog.SHA256)
			refs = append(refs, policy.Reference{SHA256: hex.EncodeToString(d), Label: "a measured command line"})
		}
	}
	return refs
}

// checkMismatchEvidence requires one failed eventlog.data_mismatch check per
// bank, naming PCR 8 and the event, with the measured digest expected, and
// no component named by the edited text.
func checkMismatchEvidence(t *testing.T, v *appraisal.Verdict, measured eventlog.Event, banks []eventlog.Alg) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range v.Failures() {
		if c.Code != appraisal.CodeEventLogDataMismatch {
			t.Errorf("unexpected failure %s: %s", c.Code, c.Message)
			continue
		}
		bank, err := eventlog.ParseAlg(c.Bank)
		if err != nil {
			t.Fatalf("check names bank %q: %v", c.Bank, err)
		}
		want, _ := measured.Digest(bank)
		if c.PCR == nil || *c.PCR != 8 || c.EventIndex == nil || *c.EventIndex != measured.Index ||
			len(c.Expected) != 1 || c.Expected[0] != hex.EncodeToString(want) || c.Found == "" || c.Found == c.Expected[0] {
			t.Errorf("data_mismatch evidence = %+v, want PCR 8, event %d, expected %x", c, measured.Index, want)
		}
		seen[c.Bank] = true
	}
	for _, b := range banks {
		if !seen[b.String()] {
			t.Errorf("no data_mismatch in bank %s", b)
		}
	}
	for _, c := range v.Components {
		if c.EventIndex == measured.Index && (c.Name != "" || c.NameProven) {
			t.Errorf("component of the edited event = %+v, want its name dropped", c)
		}
	}
}

// apiGet decodes an API answer into out and returns its body.
func (f *fleet) apiGet(t *testing.T, path string, out any) string {
	t.Helper()
	var raw json.RawMessage
	if err := f.admin.Do(context.Background(), "GET", path, nil, &raw); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(raw)
}
