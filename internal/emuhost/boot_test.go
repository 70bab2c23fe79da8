package emuhost

import (
	"crypto"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/google/go-attestation/attest"
)

var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func boolp(b bool) *bool { return &b }

var (
	vendorsOnce sync.Once
	vendorsVal  *Vendors
)

func testVendors(t *testing.T) *Vendors {
	t.Helper()
	vendorsOnce.Do(func() {
		v, err := DefaultVendors()
		if err != nil {
			t.Fatalf("DefaultVendors: %v", err)
		}
		vendorsVal = v
	})
	return vendorsVal
}

// booted is one boot on a fresh simulator with the TPM's PCRs read back.
type booted struct {
	res  *BootResult
	pcrs eventlog.PCRValues
}

// bootSim boots a profile into a fresh reference TPM. The simulator is one
// per process: each boot opens it, and closes it before the next.
func bootSim(t *testing.T, p Profile, sb *bool) booted {
	t.Helper()
	dev, err := tpm.OpenSimulator(HostSeed("test-" + string(p)))
	if err != nil {
		t.Fatalf("OpenSimulator: %v", err)
	}
	defer dev.Close()
	res, err := Boot(dev, BootConfig{Profile: p, SecureBoot: sb, Vendors: testVendors(t), Now: testNow})
	if err != nil {
		t.Fatalf("Boot(%s): %v", p, err)
	}
	out := booted{res: res, pcrs: eventlog.PCRValues{}}
	for _, bank := range res.Banks {
		vals, err := dev.ReadPCRs(bank)
		if err != nil {
			t.Fatalf("ReadPCRs(%v): %v", bank, err)
		}
		out.pcrs[bank] = vals
	}
	return out
}

var cryptoHash = map[eventlog.Alg]crypto.Hash{
	eventlog.SHA1: crypto.SHA1, eventlog.SHA256: crypto.SHA256, eventlog.SHA384: crypto.SHA384, eventlog.SHA512: crypto.SHA512,
}

// TestBootReplays boots every TPM 2.0 profile, with Secure Boot as the
// profile says and overridden, and checks that the log replays to the PCRs
// the TPM holds, in every bank, by our parser and by go-attestation's.
func TestBootReplays(t *testing.T) {
	type tc struct {
		p  Profile
		sb *bool
	}
	var cases []tc
	for _, p := range Profiles() {
		if p.Family() == tpm.FamilyTPM20 {
			cases = append(cases, tc{p, nil}, tc{p, boolp(!p.DefaultSecureBoot())})
		}
	}
	for _, c := range cases {
		sbOn := c.p.DefaultSecureBoot()
		if c.sb != nil {
			sbOn = *c.sb
		}
		name := string(c.p) + map[bool]string{true: "/sb-on", false: "/sb-off"}[sbOn]
		t.Run(name, func(t *testing.T) {
			b := bootSim(t, c.p, c.sb)
			if b.res.SecureBoot != sbOn {
				t.Errorf("SecureBoot = %v, want %v", b.res.SecureBoot, sbOn)
			}
			want := []eventlog.Alg{eventlog.SHA1, eventlog.SHA256, eventlog.SHA384, eventlog.SHA512}
			if !slices.Equal(b.res.Banks, want) {
				t.Errorf("banks %v, want every bank of the simulator %v", b.res.Banks, want)
			}
			l, err := eventlog.Parse(b.res.EventLog)
			if err != nil {
				t.Fatalf("eventlog.Parse: %v", err)
			}
			for _, bank := range b.res.Banks {
				if _, err := l.Verified(bank, b.pcrs[bank]); err != nil {
					t.Errorf("replay %v against the TPM: %v", bank, err)
				}
			}

			// An independent parser must agree.
			el, err := attest.ParseEventLog(b.res.EventLog)
			if err != nil {
				t.Fatalf("attest.ParseEventLog: %v", err)
			}
			var events []attest.Event
			for _, bank := range b.res.Banks {
				var pcrs []attest.PCR
				for i, v := range b.pcrs[bank] {
					pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: cryptoHash[bank]})
				}
				ev, err := el.Verify(pcrs)
				if err != nil {
					t.Errorf("attest Verify in %v: %v", bank, err)
				}
				if bank == eventlog.SHA256 {
					events = ev
				}
			}
			if b.res.Halted != nil {
				return // the Secure Boot state of a halted boot is not the point
			}
			st, err := attest.ParseSecurebootState(events)
			if err != nil {
				t.Fatalf("attest.ParseSecurebootState: %v", err)
			}
			if st.Enabled != sbOn {
				t.Errorf("go-attestation says Secure Boot enabled=%v, want %v", st.Enabled, sbOn)
			}
			v := testVendors(t)
			if len(st.PermittedKeys) != 1 || !st.PermittedKeys[0].Equal(v.DB.Root) {
				t.Errorf("db as go-attestation reads it: %d keys, want the platform db certificate", len(st.PermittedKeys))
			}
			if len(st.ForbiddenHashes) != 1 {
				t.Errorf("dbx: %d hashes, want 1", len(st.ForbiddenHashes))
			}
			if sbOn && (len(st.PostSeparatorAuthority) != 1 || !st.PostSeparatorAuthority[0].Equal(v.DB.Root)) {
				t.Errorf("authority: %d certificates after the separator, want the db certificate", len(st.PostSeparatorAuthority))
			}
			if !sbOn && len(st.PostSeparatorAuthority)+len(st.PreSeparatorAuthority) != 0 {
				t.Errorf("Secure Boot off, yet authority events were logged")
			}
		})
	}
}

func TestSecureBootHalts(t *testing.T) {
	tests := []struct {
		p          Profile
		stage      string
		component  string
		reason     string
		lastPCR    int // PCR of the last event logged before the halt
		lastEvType eventlog.EventType
	}{
		{RogueBootloader, StageFirmware, "boot loader vmkboot 6.7.0-3.73", `signer "Rogue Signer Code Signing" (issued by "Rogue Signer Root CA") is not authorised by db`, 7, eventlog.EvSeparator},
		{TamperedKernel, StageLoader, "kernel vmkernel 6.7.0-3.73", "does not verify: the image was modified after signing", 8, eventlog.EvIPL},
		{UnsignedBundle, StageKernel, "bundle net-backdoor 1.0.0", "chain does not end at a trusted root", 5, eventlog.EvEFIAction},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			b := bootSim(t, tt.p, boolp(true))
			var he *HaltError
			if !errors.As(b.res.Halted, &he) {
				t.Fatalf("Halted = %v, want a *HaltError", b.res.Halted)
			}
			if he.Stage != tt.stage || he.Component != tt.component || !strings.Contains(he.Reason, tt.reason) {
				t.Errorf("halt = {%q, %q, %q}, want {%q, %q, ...%q...}", he.Stage, he.Component, he.Reason, tt.stage, tt.component, tt.reason)
			}
			if !strings.Contains(he.Error(), tt.component) || !strings.Contains(he.Error(), tt.stage) {
				t.Errorf("message %q should name the stage and component", he)
			}
			l, err := eventlog.Parse(b.res.EventLog)
			if err != nil {
				t.Fatal(err)
			}
			last := l.Events[len(l.Events)-1]
			if last.PCR != tt.lastPCR || last.Type != tt.lastEvType {
				t.Errorf("last event before the halt: PCR %d %v, want PCR %d %v", last.PCR, last.Type, tt.lastPCR, tt.lastEvType)
			}
			// The boot loader measures modules before the kernel
			// verifies their bundles (measure, then verify): a halt
			// in the firmware or the loader comes before any.
			if tt.stage != StageKernel {
				for _, e := range l.Events {
					if e.PCR == PCRKernelModules && strings.HasPrefix(string(e.Data), ModuleFilePrefix) {
						t.Errorf("a module was measured although the boot halted before loading modules: %q", e.Data)
					}
				}
			}
		})
	}
}

// TestMeasurementsDiffer checks that each attack shows in exactly the PCRs
// where it should, compared with the good chain under the same Secure Boot
// setting.
func TestMeasurementsDiffer(t *testing.T) {
	goodOn := bootSim(t, Good, nil)
	goodOff := bootSim(t, SecureBootOff, nil)
	tests := []struct {
		p        Profile
		baseline booted
		want     []int
	}{
		{SecureBootOff, goodOn, []int{7, 8}},
		{RogueBootloader, goodOff, []int{4}},
		{TamperedKernel, goodOff, []int{9}},
		// Another bundle or kernel version also changes the loader's
		// commands and command lines (PCR 8): they name the files.
		{UnsignedBundle, goodOff, []int{8, 9}},
		{OldKernel, goodOn, []int{8, 9}},
		{CommunityBundle, goodOn, []int{8, 9}},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			b := bootSim(t, tt.p, nil)
			if b.res.Halted != nil {
				t.Fatalf("Halted: %v", b.res.Halted)
			}
			for _, bank := range b.res.Banks {
				var diff []int
				for i := 0; i < tpm.NumPCRs; i++ {
					if string(b.pcrs[bank][i]) != string(tt.baseline.pcrs[bank][i]) {
						diff = append(diff, i)
					}
				}
				if !slices.Equal(diff, tt.want) {
					t.Errorf("%v: PCRs that differ from the baseline: %v, want %v", bank, diff, tt.want)
				}
			}
		})
	}
}

func TestBootIsDeterministic(t *testing.T) {
	a := bootSim(t, Good, nil)
	b := bootSim(t, Good, nil)
	if string(a.res.EventLog) != string(b.res.EventLog) {
		t.Errorf("two boots of the same profile wrote different logs")
	}
	first, again := HostSeed("esx-01"), HostSeed("esx-01")
	if first != again || first == HostSeed("esx-02") || first < 0 {
		t.Errorf("HostSeed must be stable per name, differ between names and be non-negative")
	}
}

func TestNoTPM20(t *testing.T) {
	for _, p := range []Profile{TPM12, NoTPM} {
		t.Run(string(p), func(t *testing.T) {
			res, err := Boot(nil, BootConfig{Profile: p, Vendors: testVendors(t), Now: testNow})
			if err != nil {
				t.Fatalf("Boot: %v", err)
			}
			if res.TPMFamily == tpm.FamilyTPM20 || res.EventLog != nil || res.Halted != nil {
				t.Errorf("got family %v, %d log bytes, halted %v; want no TPM 2.0 and no log", res.TPMFamily, len(res.EventLog), res.Halted)
			}
			if len(res.Bundles) == 0 {
				t.Errorf("the host has bundles installed, TPM or not")
			}
		})
	}
	if _, err := Boot(nil, BootConfig{Profile: Good}); err == nil || !strings.Contains(err.Error(), "needs a TPM") {
		t.Errorf("Boot(good, nil device) = %v, want an error", err)
	}
	if _, err := Boot(nil, BootConfig{Profile: "bad"}); err == nil || !strings.Contains(err.Error(), `unknown host profile "bad"`) {
		t.Errorf("Boot(bad profile) = %v", err)
	}
}

// TestInstalledBundles checks the inventory a host reports: every bundle of
// the good host verifies against the OS vendor's root, the rogue one does
// not, and the community one verifies with level community.
func TestInstalledBundles(t *testing.T) {
	v := testVendors(t)
	tests := []struct {
		p          Profile
		wantNames  []string
		wantBad    string
		wantLowest bundle.Acceptance
	}{
		{Good, []string{"esx-base", "net-ixgben", "tools-light"}, "", bundle.Accepted},
		{CommunityBundle, []string{"esx-base", "net-ixgben", "tools-light", "nvme-community"}, "", bundle.Community},
		{UnsignedBundle, []string{"esx-base", "net-ixgben", "tools-light", "net-backdoor"}, "net-backdoor", bundle.Accepted},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			h, err := newHost(tt.p, v)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			lowest := bundle.Certified
			for _, ib := range h.bundles {
				bd, err := bundle.Parse(ib.file)
				if err != nil {
					t.Fatalf("Parse(%s): %v", ib.name, err)
				}
				names = append(names, bd.Descriptor.Name)
				err = bd.Verify([]*x509.Certificate{v.OS.Root}, testNow)
				if (err != nil) != (bd.Descriptor.Name == tt.wantBad) {
					t.Errorf("Verify(%s) = %v", bd.Descriptor.Name, err)
				}
				if err == nil && bd.Descriptor.Acceptance < lowest {
					lowest = bd.Descriptor.Acceptance
				}
				if err := bundle.VerifyPayloads(&bd.Descriptor, ib.payloads); err != nil {
					t.Errorf("VerifyPayloads(%s): %v", bd.Descriptor.Name, err)
				}
			}
			if !slices.Equal(names, tt.wantNames) || lowest != tt.wantLowest {
				t.Errorf("bundles %v lowest trusted level %v, want %v %v", names, lowest, tt.wantNames, tt.wantLowest)
			}
		})
	}
}

func TestLoadOrCreateVendors(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateVendors(dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	b, err := LoadOrCreateVendors(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !a.OS.Root.Equal(b.OS.Root) || !a.DB.Signer.Chain[0].Equal(b.DB.Signer.Chain[0]) {
		t.Errorf("identities changed between runs with the same state dir")
	}
	d, _ := DefaultVendors()
	if a.OS.Root.Equal(d.OS.Root) {
		t.Errorf("a state dir's vendors should be fresh keys, not the public defaults")
	}
	if a.OS.Root.Subject.CommonName != OSVendor+" Root CA" {
		t.Errorf("OS root %q", a.OS.Root.Subject.CommonName)
	}
}

func TestParseProfile(t *testing.T) {
	for _, p := range Profiles() {
		got, err := ParseProfile(string(p))
		if err != nil || got != p || p.Description() == "" {
			t.Errorf("ParseProfile(%q) = %q, %v (description %q)", p, got, err, p.Description())
		}
	}
	if _, err := ParseProfile("evil"); err == nil || !strings.Contains(err.Error(), "good, secureboot-off") {
		t.Errorf("ParseProfile(evil) = %v, want the list of known profiles", err)
	}
}
