package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
)

func TestEvidenceGood(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, "evidence", "--profile", "good", "--out", dir, "--host", "esx-test-01")
	if !strings.Contains(out, "host esx-test-01 (good): Secure Boot on, TPM 2.0, 3 bundles") {
		t.Errorf("output %q", out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "eventlog.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pj, err := os.ReadFile(filepath.Join(dir, "pcrs.json"))
	if err != nil {
		t.Fatal(err)
	}
	pcrs, err := eventlog.ParsePCRValues(pj)
	if err != nil {
		t.Fatalf("pcrs.json: %v", err)
	}
	l, err := eventlog.Parse(raw)
	if err != nil {
		t.Fatalf("eventlog.bin: %v", err)
	}
	for _, bank := range []eventlog.Alg{eventlog.SHA256, eventlog.SHA512} {
		if len(pcrs[bank]) != eventlog.NumPCRs {
			t.Errorf("pcrs.json %v: %d PCRs, want %d", bank, len(pcrs[bank]), eventlog.NumPCRs)
		}
		if _, err := l.Verified(bank, pcrs[bank]); err != nil {
			t.Errorf("eventlog.bin does not replay to pcrs.json in %v: %v", bank, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "bundles"))
	if err != nil || len(entries) != 3 {
		t.Fatalf("bundles/: %v %v", entries, err)
	}
	v, _ := emuhost.DefaultVendors()
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "bundles", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		bd, err := bundle.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if err := bd.Verify(v.TrustedBundleRoots(), bd.Chain[0].NotBefore.AddDate(1, 0, 0)); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}

	// The same host name boots to the same log: stable identity.
	dir2 := t.TempDir()
	mustRun(t, "evidence", "--profile", "good", "--out", dir2, "--host", "esx-test-01")
	raw2, _ := os.ReadFile(filepath.Join(dir2, "eventlog.bin"))
	if string(raw) != string(raw2) {
		t.Errorf("two runs wrote different event logs")
	}
}

func TestEvidenceProfiles(t *testing.T) {
	tests := []struct {
		args       []string
		wantCode   int
		wantErr    string
		wantFamily string
		wantLog    bool
		wantSB     bool
	}{
		{[]string{"--profile", "secureboot-off"}, 0, "", "2.0", true, false},
		{[]string{"--profile", "rogue-bootloader", "--secure-boot", "on"}, 1, "secure boot: firmware halted the boot: boot loader vmkboot 6.7.0-3.73: signer", "2.0", true, true},
		{[]string{"--profile", "unsigned-bundle", "--secure-boot", "on"}, 1, "kernel halted the boot: bundle net-backdoor 1.0.0: chain does not end at a trusted root", "2.0", true, true},
		{[]string{"--profile", "tpm12"}, 0, "", "1.2", false, true},
		{[]string{"--profile", "no-tpm"}, 0, "", "none", false, true},
		{[]string{"--profile", "evil"}, 1, `unknown host profile "evil"`, "", false, false},
		{[]string{"--profile", "good", "--secure-boot", "maybe"}, 1, `--secure-boot: want on or off, not "maybe"`, "", false, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			code, _, errs := runBootproof(t, append([]string{"evidence", "--out", dir}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(errs, tt.wantErr) {
				t.Fatalf("exit %d stderr %q, want %d and %q", code, errs, tt.wantCode, tt.wantErr)
			}
			if tt.wantFamily == "" {
				return
			}
			var info hostInfo
			hj, err := os.ReadFile(filepath.Join(dir, "host.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := strictJSON(hj, &info); err != nil {
				t.Fatal(err)
			}
			if info.TPMFamily != tt.wantFamily || info.SecureBoot != tt.wantSB || (tt.wantCode != 0) != (info.Halted != "") {
				t.Errorf("host.json %+v", info)
			}
			_, err = os.Stat(filepath.Join(dir, "eventlog.bin"))
			if (err == nil) != tt.wantLog {
				t.Errorf("eventlog.bin present = %v, want %v", err == nil, tt.wantLog)
			}
		})
	}
}

func TestEvidenceStateDir(t *testing.T) {
	state := t.TempDir()
	dir := t.TempDir()
	mustRun(t, "evidence", "--profile", "good", "--out", dir, "--state", state)
	if _, err := os.Stat(filepath.Join(state, "os", bundle.RootCertFile)); err != nil {
		t.Fatalf("state dir has no OS vendor root: %v", err)
	}
	// Bundles must chain to the state dir's OS root, not the defaults.
	rootPEM, _ := os.ReadFile(filepath.Join(state, "os", bundle.RootCertFile))
	roots, err := bundle.ParseCertificatesPEM(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "bundles"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, "bundles", e.Name()))
		bd, err := bundle.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := bd.Verify(roots, bd.Chain[0].NotBefore.AddDate(1, 0, 0)); err != nil {
			t.Errorf("%s against the state dir's root: %v", e.Name(), err)
		}
	}
}
