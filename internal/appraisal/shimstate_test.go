package appraisal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// TestShimState checks shim's state as read from its PCR 7 authorities and
// its PCR 14 lists: SbatLevel's text, MokSBState as shim reads it (one
// byte, non-zero turns verification off), Secure Boot off turning it off
// too, and no state when nothing of shim's was measured.
func TestShimState(t *testing.T) {
	shim := func(name string, data []byte) uefi.Authority {
		return uefi.Authority{Variable: name, VendorGUID: uefi.ShimLock, Data: data}
	}
	sbat := shim("SbatLevel", []byte("sbat,1,2023012900\nshim,2\x00"))
	mokList := []Measurement{{PCR: 14, EventIndex: 3, Type: "EV_IPL", Name: "MokList", Note: shimListNote}}
	tests := []struct {
		name    string
		enabled bool
		auths   []uefi.Authority
		lists   []Measurement
		want    *ShimState
	}{
		{"no shim", true, []uefi.Authority{{Variable: "db", VendorGUID: uefi.ImageSecurityDatabase}}, nil, nil},
		{"SbatLevel of another owner is not shim's", true, []uefi.Authority{{Variable: "SbatLevel", VendorGUID: uefi.GlobalVariable, Data: []byte("x")}}, nil, nil},
		{"SbatLevel", true, []uefi.Authority{sbat}, nil, &ShimState{SbatLevel: "sbat,1,2023012900\nshim,2", Validation: "on"}},
		{"MokList alone shows shim ran", true, nil, mokList, &ShimState{Validation: "on", MokLists: mokList}},
		{"MokSBState 1 turns verification off", true, []uefi.Authority{sbat, shim("MokSBState", []byte{1})}, mokList,
			&ShimState{SbatLevel: "sbat,1,2023012900\nshim,2", Validation: "off", MokLists: mokList}},
		{"MokSBState 0", true, []uefi.Authority{shim("MokSBState", []byte{0})}, nil, &ShimState{Validation: "on"}},
		{"MokSBState of two bytes is ignored, as shim does", true, []uefi.Authority{shim("MokSBState", []byte{1, 1})}, nil, &ShimState{Validation: "on"}},
		{"Secure Boot off", false, []uefi.Authority{sbat}, nil, &ShimState{SbatLevel: "sbat,1,2023012900\nshim,2", Validation: "off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shimState(&uefi.SecureBoot{Enabled: tt.enabled, Authorities: tt.auths}, tt.lists)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("shim state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSbatText checks that SbatLevel's text keeps its lines and shows no
// control characters, and that a long one is cut visibly.
func TestSbatText(t *testing.T) {
	long := strings.Repeat("grub,3\n", maxNameLen/7+1)
	tests := []struct{ name, data, want string }{
		{"lines kept, NUL dropped", "sbat,1,2021030218\n\x00", "sbat,1,2021030218\n"},
		{"control characters replaced", "sbat\x1b[2J,1\r\n", "sbat?[2J,1?\n"},
		{"long text cut with a mark", long, long[:maxNameLen] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sbatText([]byte(tt.data)); got != tt.want {
				t.Errorf("sbatText = %q, want %q", got, tt.want)
			}
		})
	}
}

// debianQEMU loads one of the evidence sets e2e/qemu recorded booting
// OVMF, Debian's shim, GRUB and a signed Debian kernel (testdata/
// debian-qemu: sb-on with Secure Boot on, sb-off with it off).
func debianQEMU(t *testing.T, name string) corpusCase {
	t.Helper()
	dir := filepath.Join("testdata", "debian-qemu", name)
	c := corpusCase{Name: "debian-qemu/" + name}
	var err error
	if c.Log, err = os.ReadFile(filepath.Join(dir, "eventlog.bin")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pcrs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PCRs, err = eventlog.ParsePCRValues(b); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSecureBootNamesDebianQEMU appraises a real Debian shim + GRUB boot
// and checks what the verdict says booted it: the PK, KEK and db
// certificates and the authorities that verified shim and GRUB by subject,
// shim's SbatLevel text, verification, and its MokLists as measurements
// whose contents are not in the log.
func TestSecureBootNamesDebianQEMU(t *testing.T) {
	const (
		debianPK   = "Debian UEFI Secure Boot (PK/KEK key)"
		msKEK      = "Microsoft Corporation KEK CA 2011"
		msWindows  = "Microsoft Windows Production PCA 2011"
		msUEFI     = "Microsoft Corporation UEFI CA 2011"
		debianCA   = "Debian Secure Boot CA"
		mokListsOn = "MokList MokListX MokListTrusted"
	)
	tests := []struct {
		name                          string
		pk, kek, db, authorities      []string
		sbat, validation, mokListsSeq string
	}{
		{"sb-on", []string{debianPK}, []string{debianPK, msKEK}, []string{msWindows, msUEFI}, []string{msUEFI, debianCA},
			"sbat,1,2025021800\nshim,4\ngrub,5\n", "on", mokListsOn},
		{"sb-off", nil, nil, nil, nil, "sbat,1,2021030218\n", "off", mokListsOn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := appraiseCorpusCase(t, debianQEMU(t, tt.name))
			if v.Status != Passed {
				t.Fatalf("status %s: %+v", v.Status, v.Failures())
			}
			sb := v.SecureBoot
			for _, f := range []struct {
				what      string
				want      []string
				got       []CertName
				fingerprs []string
			}{{"PK", tt.pk, sb.PKCerts, sb.PK}, {"KEK", tt.kek, sb.KEKCerts, sb.KEK}, {"db", tt.db, sb.DBCerts, sb.DB}, {"authorities", tt.authorities, sb.AuthorityCerts, nil}} {
				var subjects []string
				for i, c := range f.got {
					subjects = append(subjects, c.Subject)
					if f.fingerprs != nil && c.SHA256 != f.fingerprs[i] {
						t.Errorf("%s %q: fingerprint %s, the fingerprint list says %s", f.what, c.Subject, c.SHA256, f.fingerprs[i])
					}
				}
				if diff := cmp.Diff(f.want, subjects); diff != "" {
					t.Errorf("%s subjects (-want +got):\n%s", f.what, diff)
				}
			}
			s := sb.Shim
			if s == nil {
				t.Fatal("no shim state")
			}
			if s.SbatLevel != tt.sbat || s.Validation != tt.validation {
				t.Errorf("SbatLevel %q, validation %q; want %q, %q", s.SbatLevel, s.Validation, tt.sbat, tt.validation)
			}
			var names []string
			for _, m := range s.MokLists {
				names = append(names, m.Name)
				if m.PCR != 14 || m.NameProven || m.Note != shimListNote || len(m.SHA256) != 64 {
					t.Errorf("MokList measurement %+v: want PCR 14, name unproven, contents not in the log, a SHA-256 digest", m)
				}
			}
			if got := strings.Join(names, " "); got != tt.mokListsSeq {
				t.Errorf("MokLists %q, want %q", got, tt.mokListsSeq)
			}
		})
	}
}

// TestSecureBootNamesCorpus reads the Secure Boot state of real logs of
// the corpus (most have no PCR values, so this is the reading, not the
// proof) and checks the certificates by subject and shim's SbatLevel and
// verification: Microsoft's KEK and db CAs, OEM platform keys, shim's
// vendor certificate as an authority, SbatLevel text of several lines.
func TestSecureBootNamesCorpus(t *testing.T) {
	const msKEK, msUEFI, msWindows = "Microsoft Corporation KEK CA 2011", "Microsoft Corporation UEFI CA 2011", "Microsoft Windows Production PCA 2011"
	tests := []struct {
		name             string
		pk, kek, db, au  []string
		sbat, validation string // validation "" when shim did not run
	}{
		{"fwupd/binary-bios-measurements-v2", []string{"Dell Inc. Platform Key"}, []string{"Dell Inc. Key Exchange Key", msKEK},
			[]string{"Dell Bios DB Key", "Dell Bios FW Aux Authority 2018", msWindows, msUEFI}, []string{msUEFI, "Canonical Ltd. Master Certificate Authority"}, "", "on"},
		{"go-attestation/option-rom", []string{"Hewlett-Packard UEFI Secure Boot Platform Key"}, []string{"Hewlett-Packard UEFI Secure Boot Key Exchange Key", msKEK},
			[]string{"Hewlett-Packard UEFI Secure Boot DB Key", msWindows, msUEFI}, []string{msUEFI, msWindows}, "", ""},
		{"keylime/create-mb-policy-sb-enabled", []string{"Red Hat Secure Boot (PK/KEK key 1)"}, []string{"Red Hat Secure Boot (PK/KEK key 1)", msKEK, "Microsoft Corporation KEK 2K CA 2023"},
			[]string{msWindows, "Windows UEFI CA 2023", msUEFI, "Microsoft UEFI CA 2023"}, []string{msUEFI, "Red Hat Secure Boot CA 5"}, "sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\n", "on"},
		{"go-attestation/coreos-36-shielded-vm-no-secure-boot", []string{"newpk"}, []string{msKEK}, []string{msUEFI, msWindows}, nil, "sbat,1,2021030218\n", "off"},
	}
	cases := map[string]corpus.Case{}
	for _, c := range corpus.Cases(t) {
		cases[c.Name] = c
	}
	subjects := func(cs []CertName) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Subject)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := cases[tt.name]
			if !ok {
				t.Skip("not in this corpus")
			}
			log, err := eventlog.Parse(c.Log)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := uefi.SecureBootState(log.Events)
			if err != nil {
				t.Fatal(err)
			}
			s := summarise(sb)
			got := [][]string{subjects(s.PKCerts), subjects(s.KEKCerts), subjects(s.DBCerts), subjects(s.AuthorityCerts)}
			if diff := cmp.Diff([][]string{tt.pk, tt.kek, tt.db, tt.au}, got); diff != "" {
				t.Errorf("PK, KEK, db, authority subjects (-want +got):\n%s", diff)
			}
			var sbat, validation string
			if shim := shimState(sb, nil); shim != nil {
				sbat, validation = shim.SbatLevel, shim.Validation
			}
			if sbat != tt.sbat || validation != tt.validation {
				t.Errorf("shim: SbatLevel %q, validation %q; want %q, %q", sbat, validation, tt.sbat, tt.validation)
			}
		})
	}
}

// TestVerdictGoldenDebianQEMU pins the whole verdict of the real Debian
// shim + GRUB boots (Secure Boot on and off), as the report and API show
// them: certificates by subject, shim's state, the measurements no rule
// judged. Rewrite with: go test ./internal/appraisal -run VerdictGoldenDebianQEMU -update
func TestVerdictGoldenDebianQEMU(t *testing.T) {
	for _, name := range []string{"sb-on", "sb-off"} {
		t.Run(name, func(t *testing.T) {
			v, _ := appraiseCorpusCase(t, debianQEMU(t, name))
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "verdicts", "debian-qemu-"+name+".json"), append(got, '\n'))
		})
	}
}
