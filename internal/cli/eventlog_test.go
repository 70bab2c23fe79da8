package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// elRun runs the command line in-process and returns the exit status and
// what it printed.
func elRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// elCorpusCase returns the directory of a case of the shared event log
// corpus (../shared beside the repository), skipping when it is absent.
func elCorpusCase(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "testdata", "eventlogs", filepath.FromSlash(name))
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus case %s absent: %v", name, err)
	}
	return c
}

// elSyntheticLog writes a small Secure-Boot-on log and its true PCR values
// (sha256 and sha512) into a temporary directory.
func elSyntheticLog(t *testing.T) (logPath, pcrsPath string, pcrs eventlog.PCRValues) {
	t.Helper()
	return elWriteLog(t, []byte{1}, nil)
}

// elVar is the SecureBoot variable's event data with the given value.
func elVar(val []byte) []byte {
	return uefi.EncodeVariableData("8be4df61-93ca-11d2-aa0d-00e098032b8c", "SecureBoot", val)
}

// elWriteLog writes a small log whose SecureBoot variable holds sb, and the
// PCR values (sha256 and sha512) of that honest log. edit, when set, then
// replaces the SecureBoot event's data and digests in the log written (not
// in the PCR values): a host that lied about its PCR 7 events.
func elWriteLog(t *testing.T, sb []byte, edit func(banks []eventlog.Alg) (digests []eventlog.Digest, data []byte)) (logPath, pcrsPath string, pcrs eventlog.PCRValues) {
	t.Helper()
	banks := []eventlog.Alg{eventlog.SHA256, eventlog.SHA512}
	build := func(edit func(banks []eventlog.Alg) ([]eventlog.Digest, []byte)) []byte {
		w := eventlog.NewWriter(banks)
		add := func(pcr int, typ eventlog.EventType, ds []eventlog.Digest, data []byte) {
			if err := w.Append(pcr, typ, ds, data); err != nil {
				t.Fatal(err)
			}
		}
		honest := func(pcr int, typ eventlog.EventType, data []byte) { add(pcr, typ, eventlog.Digests(banks, data), data) }
		honest(0, eventlog.EvSCRTMVersion, []byte("bootproof firmware\x00"))
		if edit == nil {
			honest(7, eventlog.EvEFIVariableDriverConfig, elVar(sb))
		} else {
			ds, data := edit(banks)
			add(7, eventlog.EvEFIVariableDriverConfig, ds, data)
		}
		honest(7, eventlog.EvSeparator, []byte{0, 0, 0, 0})
		honest(8, eventlog.EvIPL, []byte("kernel_cmdline: /vmlinuz ro quiet\x00"))
		return w.Bytes()
	}
	l, err := eventlog.Parse(build(nil))
	if err != nil {
		t.Fatal(err)
	}
	pcrs = eventlog.PCRValues{}
	for _, b := range banks {
		if pcrs[b], err = l.Replay(b); err != nil {
			t.Fatal(err)
		}
		for pcr := 1; pcr < 7; pcr++ { // the verifier requires PCR 0-7
			pcrs[b][pcr] = make([]byte, b.Size())
		}
	}
	logPath = filepath.Join(t.TempDir(), "eventlog.bin")
	if err := os.WriteFile(logPath, build(edit), 0o644); err != nil {
		t.Fatal(err)
	}
	return logPath, elWritePCRs(t, pcrs), pcrs
}

// elWritePCRs writes PCR values as pcrs.json into a temporary directory.
func elWritePCRs(t *testing.T, pcrs eventlog.PCRValues) string {
	t.Helper()
	pj, err := json.Marshal(pcrs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pcrs.json")
	if err := os.WriteFile(path, pj, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEventlogSynthetic(t *testing.T) {
	logPath, pcrsPath, pcrs := elSyntheticLog(t)

	code, out, errOut := elRun(t, "eventlog", "dump", logPath)
	if code != 0 {
		t.Fatalf("dump: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"crypto-agile log, banks sha256 sha512, 5 events", "SecureBoot = 01", "kernel_cmdline: /vmlinuz ro quiet", "separator 00000000", "EV_S_CRTM_VERSION"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = elRun(t, "eventlog", "replay", logPath, "--pcrs", pcrsPath)
	if code != 0 || !strings.Contains(out, "sha256: match") || !strings.Contains(out, "sha512: match") || !strings.Contains(out, "Secure Boot: on (proven by sha256+sha512 PCR 7: SecureBoot at event 2)") {
		t.Errorf("replay: exit %d\n%s%s", code, out, errOut)
	}

	// The same log against a PCR 8 that something else extended.
	pcrs[eventlog.SHA256][8] = bytes.Repeat([]byte{0xee}, 32)
	code, out, _ = elRun(t, "eventlog", "replay", logPath, "--pcrs", elWritePCRs(t, pcrs))
	if code != 1 || !strings.Contains(out, "sha256: mismatch\n  PCR 8: mismatch (1 events)") || !strings.Contains(out, "want eeeeeeee") || !strings.Contains(out, "sha512: match") {
		t.Errorf("replay against a wrong PCR 8: exit %d\n%s", code, out)
	}
}

func TestEventlogDumpJSON(t *testing.T) {
	dir := elCorpusCase(t, "go-tpm-tools/rhel8-uefi")
	code, out, errOut := elRun(t, "eventlog", "dump", filepath.Join(dir, "eventlog.bin"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got dumpOutput
	if err := strictJSON([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if got.Format != "crypto-agile" || len(got.Events) != 83 || strings.Join(got.Banks, ",") != "sha1,sha256,sha384" {
		t.Fatalf("format %q banks %v, %d events; want crypto-agile sha1,sha256,sha384, 83 events", got.Format, got.Banks, len(got.Events))
	}
	e := got.Events[3]
	if e.PCR != 7 || e.Type != "EV_EFI_VARIABLE_DRIVER_CONFIG" || e.Description != "SecureBoot = 01" || len(e.Digests["sha256"]) != 64 {
		t.Errorf("event 3 = %+v", e)
	}
	if d := got.Events[23].Description; d != `PciRoot(0x0)/Pci(0x3,0x0)/Scsi/HD(1)/\EFI\redhat\shimx64.efi` {
		t.Errorf("event 23 (shim) description %q", d)
	}
}

func TestEventlogReplayCorpus(t *testing.T) {
	tests := []struct {
		name     string
		caseName string
		pcrs     string // "" = the case's pcrs.json
		code     int
		want     []string
	}{
		{"rhel8 matches, Secure Boot on, its sha384 bank not given", "go-tpm-tools/rhel8-uefi", "", 1, []string{"sha1: match (11 PCRs)", "sha256: match (11 PCRs)", "Secure Boot: on (proven by sha256 PCR 7: SecureBoot at event 3)", "CN=Microsoft Corporation UEFI CA 2011", "authority event 21 from db",
			"refused (quote.missing_bank): the log declares the sha384 bank but no sha384 values were given"}},
		{"altered log mismatches", "HIRS/tpmlog-altered", "", 1, []string{"sha256: mismatch\n  PCR 0: mismatch (8 events)", "want 5ef6c69a", "got  0a276b1c", "Secure Boot: unknown: the sha256 values do not prove the log"}},
		{"IMA PCR 10 has a value and no events: a mismatch", "go-attestation/sb-cert", "", 1, []string{"PCR 10: a value but no events in the log", "refused (eventlog.replay): sha256 PCR 10 holds c36c9ab1", "--ignore-pcrs 10", "Secure Boot: unknown"}},
		{"bank missing from the log", "go-tpm-tools/rhel8-uefi", `{"sha512": {"0": "` + strings.Repeat("00", 64) + `"}}`, 1, []string{"sha512: not replayed: the log has no sha512 bank", "the log declares the sha256 bank but no sha256 values were given", "Secure Boot: unknown: no bank of SHA-256 or better"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := elCorpusCase(t, tt.caseName)
			pcrs := filepath.Join(dir, "pcrs.json")
			if tt.pcrs != "" {
				pcrs = filepath.Join(t.TempDir(), "pcrs.json")
				if err := os.WriteFile(pcrs, []byte(tt.pcrs), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := elRun(t, "eventlog", "replay", filepath.Join(dir, "eventlog.bin"), "--pcrs", pcrs)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestEventlogReplayJSON(t *testing.T) {
	dir := elCorpusCase(t, "HIRS/tpmlog-altered")
	code, out, _ := elRun(t, "eventlog", "replay", filepath.Join(dir, "eventlog.bin"), "--pcrs", filepath.Join(dir, "pcrs.json"), "--json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var got replayOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Match || len(got.Banks) != 1 || got.Banks[0].PCRs[0].Status != eventlog.StatusMismatch || got.SecureBoot == nil || got.SecureBoot.State != "unknown" {
		t.Errorf("got %+v", got)
	}
}

func TestEventlogErrors(t *testing.T) {
	logPath, _, _ := elSyntheticLog(t)
	junk := filepath.Join(t.TempDir(), "junk.bin")
	if err := os.WriteFile(junk, []byte("this is not an event log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badPCRs := filepath.Join(t.TempDir(), "pcrs.json")
	if err := os.WriteFile(badPCRs, []byte(`{"sha256": {"0": "abcd"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a log", []string{"eventlog", "dump", junk}, 1, "event 0 at offset 0"},
		{"no such file", []string{"eventlog", "dump", junk + ".missing"}, 1, "read event log"},
		{"replay without --pcrs", []string{"eventlog", "replay", logPath}, 2, "--pcrs is required"},
		{"replay of no log", []string{"eventlog", "replay", junk, "--pcrs", badPCRs}, 2, "event 0 at offset 0"},
		{"replay of a missing log", []string{"eventlog", "replay", junk + ".missing", "--pcrs", badPCRs}, 2, "read event log"},
		{"short PCR value", []string{"eventlog", "replay", logPath, "--pcrs", badPCRs}, 2, "sha256 PCR 0: 2 bytes, want 32"},
		{"replay without a file", []string{"eventlog", "replay", "--pcrs", badPCRs}, 2, "accepts 1 arg(s)"},
		{"replay with an unknown flag", []string{"eventlog", "replay", logPath, "--pcr", badPCRs}, 2, "unknown flag: --pcr"},
		{"replay ignoring PCR 7", []string{"eventlog", "replay", logPath, "--pcrs", badPCRs, "--ignore-pcrs", "7"}, 2, "PCR 7 cannot be ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := elRun(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
