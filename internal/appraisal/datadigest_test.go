package appraisal

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// bothBanks proves every event in SHA-1 and SHA-256.
func bothBanks(int) []eventlog.Alg { return []eventlog.Alg{eventlog.SHA1, eventlog.SHA256} }

// digestsOf is what a measuring component logs when it hashes measured.
func digestsOf(measured []byte) []eventlog.Digest {
	return eventlog.Digests([]eventlog.Alg{eventlog.SHA1, eventlog.SHA256}, measured)
}

// shimAuthority is an EV_EFI_VARIABLE_AUTHORITY as shim logs it: its
// UEFI_VARIABLE_DATA, a few bytes of padding, and digests of all but the
// last byte.
func shimAuthority(name string, cert []byte) (data, measured []byte) {
	data = append(uefi.EncodeVariableData(imageSecurity, name, cert), 0, 0, 0, 0, 0, 0)
	return data, data[:len(data)-1]
}

// TestDataDigestRules checks, per event type, that an event logged as its
// measuring component logs it passes, and that the same event with its
// data edited and its digests kept fails in every bank.
func TestDataDigestRules(t *testing.T) {
	sbOn := sbVar("SecureBoot", []byte{1})
	bootOrder := uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{1, 0, 0, 0})
	shimData, shimHashed := shimAuthority("Shim", []byte("a vendor certificate"))
	grubCmdline := []byte("kernel_cmdline: /vmlinuz-6.1.0-13-amd64 root=/dev/vda2 ro quiet\x00")
	tests := []struct {
		name     string
		pcr      int
		typ      eventlog.EventType
		data     []byte // as logged
		measured []byte // what the component hashed
		edited   []byte // the data as a host rewrites it
		format   string // "" is crypto-agile
		wantOK   bool
	}{
		{"separator", 7, eventlog.EvSeparator, separator, separator, []byte{0xff, 0xff, 0xff, 0xff}, "", true},
		{"EFI action", 4, eventlog.EvEFIAction, []byte("Calling EFI Application from Boot Option"), nil, []byte("Returning from EFI Application from Boot Option"), "", true},
		{"Secure Boot variable", 7, eventlog.EvEFIVariableDriverConfig, sbOn, nil, sbVar("SecureBoot", []byte{0}), "", true},
		{"driver config hashing only VariableData in a crypto-agile log", 7, eventlog.EvEFIVariableDriverConfig, sbOn, []byte{1}, nil, "", false},
		{"driver config hashing only VariableData in a SHA-1 legacy log", 7, eventlog.EvEFIVariableDriverConfig, sbOn, []byte{1}, sbVar("SecureBoot", []byte{0}), eventlog.FormatSHA1Legacy, true},
		{"authority as the PFP says", 7, eventlog.EvEFIVariableAuthority, sbVar("db", []byte("db cert")), nil, sbVar("db", []byte("db cerT")), "", true},
		{"authority as shim logs it", 7, eventlog.EvEFIVariableAuthority, shimData, shimHashed, append(uefi.EncodeVariableData(imageSecurity, "Shim", []byte("a vendor certificatE")), 0, 0, 0, 0, 0, 0), "", true},
		{"authority with more than padding after it", 7, eventlog.EvEFIVariableAuthority, append(sbVar("db", []byte("c")), make([]byte, 20)...), append(sbVar("db", []byte("c")), make([]byte, 19)...), nil, "", false},
		{"boot variable as the PFP says", 1, eventlog.EvEFIVariableBoot, bootOrder, nil, uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{2, 0, 0, 0}), "", true},
		{"boot variable as EDK II hashes it", 1, eventlog.EvEFIVariableBoot, bootOrder, []byte{1, 0, 0, 0}, uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{2, 0, 0, 0}), "", true},
		{"boot variable 2", 1, eventlog.EvEFIVariableBoot2, bootOrder, nil, uefi.EncodeVariableData(globalVariable, "BootOrder", []byte{2, 0, 0, 0}), "", true},
		{"GPT", 5, eventlog.EvEFIGPTEvent, []byte("EFI PART header and partitions"), nil, []byte("EFI PART other partitions"), "", true},
		{"S-CRTM version", 0, eventlog.EvSCRTMVersion, utf16z("2.3.5"), nil, utf16z("9.9.9"), "", true},
		{"GRUB kernel command line", 8, eventlog.EvIPL, grubCmdline, grubCmdline[len("kernel_cmdline: ") : len(grubCmdline)-1],
			[]byte("kernel_cmdline: /vmlinuz-6.1.0-13-amd64 root=/dev/vda2 ro quiet init=/bin/sh\x00"), "", true},
		{"GRUB command", 8, eventlog.EvIPL, []byte("grub_cmd: linux /vmlinuz\x00"), []byte("linux /vmlinuz"), []byte("grub_cmd: linux /evil\x00"), "", true},
		{"GRUB command hashed with its prefix", 8, eventlog.EvIPL, []byte("grub_cmd: linux /vmlinuz\x00"), nil, nil, "", false},
		{"Red Hat GRUB command line", 8, eventlog.EvIPL, []byte("grub_kernel_cmdline (hd0,gpt2)/vmlinuz ro\x00"), []byte("(hd0,gpt2)/vmlinuz ro"), []byte("grub_kernel_cmdline (hd0,gpt2)/vmlinuz rw\x00"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			measured := tt.measured
			if measured == nil {
				measured = tt.data
			}
			digests := digestsOf(measured)
			logOf := func(data []byte) *eventlog.Log {
				f := tt.format
				if f == "" {
					f = eventlog.FormatCryptoAgile
				}
				return &eventlog.Log{Format: f, Events: []eventlog.Event{{Index: 3, PCR: tt.pcr, Type: tt.typ, Digests: digests, Data: data}}}
			}
			bad, checked := findMismatches(logOf(tt.data), bothBanks)
			if checked != 1 {
				t.Fatalf("checked %d events, want 1: the rule does not apply", checked)
			}
			if ok := len(bad) == 0; ok != tt.wantOK {
				t.Fatalf("honest event: mismatches %d, want ok=%v", len(bad), tt.wantOK)
			}
			if tt.edited == nil {
				return
			}
			bad, _ = findMismatches(logOf(tt.edited), bothBanks)
			var banks []string
			for _, m := range bad {
				banks = append(banks, m.bank.String())
			}
			if diff := cmp.Diff([]string{"sha1", "sha256"}, banks); diff != "" {
				t.Errorf("edited data: mismatching banks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDataDigestUnbound checks that events whose digest does not bind
// their data are not checked and their names are marked unproven.
func TestDataDigestUnbound(t *testing.T) {
	for _, e := range []eventlog.Event{
		{PCR: 4, Type: eventlog.EvEFIBootServicesApplication, Data: imageLoadEvent(`\EFI\debian\grubx64.efi`)},
		{PCR: 9, Type: eventlog.EvIPL, Data: []byte("/boot/vmlinuz-6.1.0\x00")},
		{PCR: 8, Type: eventlog.EvIPL, Data: []byte("something GRUB never logs")},
		{PCR: 0, Type: eventlog.EvPostCode, Data: []byte("ACPI DATA")},
	} {
		e.Digests = digestsOf([]byte("the image, not its name"))
		if bad, checked := findMismatches(&eventlog.Log{Format: eventlog.FormatCryptoAgile, Events: []eventlog.Event{e}}, bothBanks); checked != 0 || len(bad) != 0 {
			t.Errorf("%v in PCR %d: checked %d, %d mismatches; its data is not bound", e.Type, e.PCR, checked, len(bad))
		}
		if nameBound(&e) {
			t.Errorf("%v in PCR %d: name counted as proven", e.Type, e.PCR)
		}
	}
}

// TestDataDigestOnlyProvenBanks checks that an event is judged in the banks
// that proved it and only those.
func TestDataDigestOnlyProvenBanks(t *testing.T) {
	e := eventlog.Event{PCR: 7, Type: eventlog.EvSeparator, Data: []byte{1, 0, 0, 0}, Digests: digestsOf(separator)}
	bad, _ := findMismatches(&eventlog.Log{Format: eventlog.FormatCryptoAgile, Events: []eventlog.Event{e}},
		func(int) []eventlog.Alg { return []eventlog.Alg{eventlog.SHA256} })
	if len(bad) != 1 || bad[0].bank != eventlog.SHA256 {
		t.Fatalf("mismatches = %+v, want one in sha256", bad)
	}
}

// knownDataMismatches are the corpus logs that really carry an event whose
// data does not hash to its digest, by case and event index.
var knownDataMismatches = map[string][]int{
	// Deliberately altered by HIRS: BootOrder's digests changed, data kept.
	"HIRS/tpmlog-altered": {25},
	// The S-CRTM version event logs "2.3.5" but its digest is not the hash
	// of that string in any form (go-tpm-tools reports it too: "invalid
	// SCRTM version event for PCR0").
	"go-tpm-tools/gdc-host": {3},
}

// TestDataDigestCorpus checks every real log of the shared corpus in every
// bank it has: only the known cases have events whose data does not match.
func TestDataDigestCorpus(t *testing.T) {
	root := corpusRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "*", "*", "eventlog.bin"))
	if len(files) == 0 {
		t.Skip("no corpus logs in " + root)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, filepath.Dir(f))
		name := filepath.ToSlash(rel)
		t.Run(name, func(t *testing.T) {
			c := loadCorpusCase(t, root, name)
			log, err := eventlog.Parse(c.Log)
			if err != nil {
				t.Skipf("the log does not parse (%v): the parser's tests judge it", err)
			}
			var banks []eventlog.Alg
			for _, b := range log.Banks {
				if _, ok := b.Hash(); ok {
					banks = append(banks, b)
				}
			}
			bad, checked := findMismatches(log, func(int) []eventlog.Alg { return banks })
			var got []int
			for _, m := range bad {
				if !slices.Contains(got, m.event.Index) {
					got = append(got, m.event.Index)
				}
			}
			if diff := cmp.Diff(knownDataMismatches[name], got); diff != "" {
				t.Errorf("events whose data does not match (-want +got), of %d checked:\n%s", checked, diff)
			}
		})
	}
}

// editedCmdline is the GRUB command line a host writes into its log in
// place of the one GRUB measured (standardBoot's kernelCmdline).
const editedCmdline = "kernel_cmdline: /boot/vmlinuz-6.7.0 root=/dev/sda1 ro init=/bin/sh"

// TestAppraiseEditedCommandLine edits the text of GRUB's kernel command
// line event, keeping its digests (so the log still replays and the boot
// options still match the reference), and checks that the verdict fails
// with eventlog.data_mismatch naming the event, and never shows the edited
// text: not in a check, not as a component's name.
func TestAppraiseEditedCommandLine(t *testing.T) {
	golden := goldenPolicy(t)
	ms := standardBoot(t, bootOpts{secureBoot: true})
	idx := slices.IndexFunc(ms, func(m measurement) bool { return m.pcr == 8 })
	ms[idx].data = []byte(editedCmdline + "\x00")
	h := boot(t, testBanks, ms)
	v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: golden, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{CodeEventLogDataMismatch}, failedCodes(v)); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
	measured := []byte(kernelCmdline[len("kernel_cmdline: "):])
	edited := []byte(editedCmdline[len("kernel_cmdline: "):])
	var got []Check
	for _, c := range v.Failures() {
		c.Message = ""
		got = append(got, c)
	}
	want := []Check{}
	for _, bank := range testBanks {
		want = append(want, Check{Code: CodeEventLogDataMismatch, Bank: bank.String(), PCR: intp(8), EventIndex: got[0].EventIndex,
			Expected: []string{hexs(bank.Sum(measured))}, Found: hexs(bank.Sum(edited))})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("data_mismatch evidence (-want +got):\n%s", diff)
	}
	opts := v.Components.Class(policy.ClassBootOptions)
	if len(opts) != 1 || opts[0].Name != "" || opts[0].NameProven {
		t.Errorf("boot options component = %+v, want one, its name dropped", opts)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte("init=/bin/sh")) {
		t.Errorf("the verdict shows the edited command line: %s", js)
	}
}

// TestAppraiseUnprovenNamesMarked checks that the honest standard boot
// marks which component names its digests prove.
func TestAppraiseUnprovenNamesMarked(t *testing.T) {
	h := boot(t, testBanks, standardBoot(t, bootOpts{secureBoot: true}))
	v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: policy.Default(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range v.Components {
		got[strings.SplitN(c.Name, " ", 2)[0]] = c.NameProven
	}
	want := map[string]bool{
		"EV_S_CRTM_VERSION":             true,  // the hash of its string
		"EV_EFI_PLATFORM_FIRMWARE_BLOB": false, // the hash of the volume
		`\EFI\BOOT\BOOTX64.EFI`:         false, // a device path beside the image's hash
		"/boot/vmlinuz-6.7.0":           false, // a file name beside the file's hash
		"/boot/initrd.img-6.7.0":        false,
		"kernel_cmdline:":               true, // GRUB hashes its text
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("name proven by component (-want +got):\n%s", diff)
	}
}
