package emutest

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/bootproof/bootproof/internal/wire"
)

var (
	now   = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	nonce = []byte("emutest nonce 0123456789")
)

// attest boots a profile on a fresh simulator and returns what its agent
// would send, with its AK.
func attest(t *testing.T, p emuhost.Profile, v *emuhost.Vendors, secureBoot *bool) (*wire.Evidence, []byte) {
	t.Helper()
	dev, err := tpm.OpenSimulator(emuhost.HostSeed(string(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	res, err := emuhost.Boot(dev, emuhost.BootConfig{Profile: p, Vendors: v, Now: now, SecureBoot: secureBoot})
	if err != nil {
		t.Fatalf("boot %s: %v", p, err)
	}
	ev := &wire.Evidence{Nonce: nonce, TPMFamily: res.TPMFamily.String(), EventLog: res.EventLog, Bundles: res.Bundles}
	if res.TPMFamily != tpm.FamilyTPM20 {
		return ev, nil
	}
	ak, err := dev.CreateAK()
	if err != nil {
		t.Fatal(err)
	}
	defer ak.Close()
	att, sig, pcrs, err := dev.Quote(ak, nonce, res.Banks...)
	if err != nil {
		t.Fatalf("quote %v: %v", res.Banks, err)
	}
	q := wire.Quote{Attest: att, Signature: sig, PCRs: map[string]map[int][]byte{}}
	for bank, vals := range pcrs {
		q.PCRs[bank.String()] = vals
	}
	ev.Quotes = []wire.Quote{q}
	return ev, ak.Public()
}

func failedCodes(v *appraisal.Verdict) []string {
	var out []string
	for _, c := range v.Failures() {
		if !slices.Contains(out, c.Code) {
			out = append(out, c.Code)
		}
	}
	sort.Strings(out)
	return out
}

// TestEmulatedProfiles learns the group policy from the good host, then
// appraises every profile with it, as the demo does.
func TestEmulatedProfiles(t *testing.T) {
	vendors, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	base := policy.Default()
	base.Bundles.TrustedRoots = []string{string(bundle.CertsPEM(vendors.TrustedBundleRoots()...))}

	ev, ak := attest(t, emuhost.Good, vendors, nil)
	golden, err := appraisal.Appraise(appraisal.Input{Evidence: ev, AKPublic: ak, Nonce: nonce, Policy: base, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if golden.Status != appraisal.Passed {
		t.Fatalf("good host with the default policy: %s %+v", golden.Status, golden.Failures())
	}
	var classes []string
	for _, c := range golden.Components {
		if !slices.Contains(classes, c.Class) {
			classes = append(classes, c.Class)
		}
	}
	sort.Strings(classes)
	// Every class but the initramfs: the emulated kernel takes its
	// modules from the boot loader, as ESXi's does.
	want := slices.DeleteFunc(slices.Clone(policy.Classes), func(c string) bool { return c == policy.ClassInitrd })
	sort.Strings(want)
	if diff := cmp.Diff(want, classes); diff != "" {
		t.Errorf("component classes of the emulated boot (-want +got):\n%s", diff)
	}
	group := policy.Learn(golden.Components, base)

	on := true
	const cmds, conf, opts = appraisal.CodeRefBootCommands, appraisal.CodeRefBootConfig, appraisal.CodeRefBootOptions
	tests := []struct {
		profile emuhost.Profile
		// secureBoot overrides the profile's default: an attack profile
		// with Secure Boot on halts at the stage that catches it.
		secureBoot *bool
		want       appraisal.Status
		failed     []string
	}{
		{emuhost.Good, nil, appraisal.Passed, nil},
		// With Secure Boot off the boot options differ too (secureBoot=FALSE),
		// and so does the loader's multiboot2 command that carries them.
		{emuhost.SecureBootOff, nil, appraisal.Failed, []string{cmds, opts, appraisal.CodeSecureBootDisabled}},
		{emuhost.TamperedKernel, nil, appraisal.Failed, []string{cmds, opts, appraisal.CodeRefKernel, appraisal.CodeSecureBootDisabled}},
		{emuhost.RogueBootloader, nil, appraisal.Failed, []string{cmds, opts, appraisal.CodeRefBootloader, appraisal.CodeSecureBootDisabled}},
		// Another module or kernel version also changes the loader's
		// configuration file and commands, which name the files.
		{emuhost.UnsignedBundle, nil, appraisal.Failed, []string{appraisal.CodeBundleSignature, cmds, conf, opts, appraisal.CodeRefModule, appraisal.CodeSecureBootDisabled}},
		{emuhost.OldKernel, nil, appraisal.Failed, []string{cmds, conf, opts, appraisal.CodeRefKernel}},
		{emuhost.CommunityBundle, nil, appraisal.Failed, []string{appraisal.CodeBundleAcceptance, cmds, conf, opts, appraisal.CodeRefModule}},
		// Halted boots (an agent would not even run; the emulation attests
		// what was measured up to the halt): the missing stages fail. The
		// loader measures the modules before the kernel verifies their
		// bundles, so a bundle halt leaves them measured.
		{emuhost.TamperedKernel, &on, appraisal.Failed, []string{appraisal.CodeBundleNotMeasured, opts, appraisal.CodeRefKernel, appraisal.CodeRefModule}},
		{emuhost.RogueBootloader, &on, appraisal.Failed, []string{appraisal.CodeBundleNotMeasured, cmds, conf, opts, appraisal.CodeRefBootloader, appraisal.CodeRefKernel, appraisal.CodeRefModule}},
		{emuhost.UnsignedBundle, &on, appraisal.Failed, []string{appraisal.CodeBundleSignature, cmds, conf, opts, appraisal.CodeRefModule}},
		{emuhost.TPM12, nil, appraisal.NA, []string{appraisal.CodeNotTPM20}},
		{emuhost.NoTPM, nil, appraisal.NA, []string{appraisal.CodeNotTPM20}},
	}
	for _, tt := range tests {
		name := string(tt.profile)
		if tt.secureBoot != nil {
			name += "/secureboot-on"
		}
		t.Run(name, func(t *testing.T) {
			ev, ak := attest(t, tt.profile, vendors, tt.secureBoot)
			// The emulated host enrols with its profile's family, as the verifier records it.
			v, err := appraisal.Appraise(appraisal.Input{Evidence: ev, EnrolledFamily: ev.TPMFamily, AKPublic: ak, Nonce: nonce, Policy: group, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tt.want {
				t.Errorf("status %s, want %s; failures %+v", v.Status, tt.want, v.Failures())
			}
			if diff := cmp.Diff(tt.failed, failedCodes(v)); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\nfailures: %+v", diff, v.Failures())
			}
			// The emulated chain logs what it measures, as a real chain
			// does: every event whose digest binds its data matches.
			if tt.want != appraisal.NA && !slices.ContainsFunc(v.Checks, func(c appraisal.Check) bool {
				return c.Code == appraisal.CodeEventLogDataMismatch && c.Passed
			}) {
				t.Errorf("no passed %s check: %+v", appraisal.CodeEventLogDataMismatch, v.Checks)
			}
		})
	}
}
