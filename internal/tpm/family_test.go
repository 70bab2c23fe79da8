package tpm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDetectFamily(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // path under class/tpm/tpm0 -> content
		want  Family
	}{
		{"no tpm", nil, FamilyNone},
		{"tpm 2.0", map[string]string{"tpm_version_major": "2\n"}, FamilyTPM20},
		{"tpm 1.2", map[string]string{"tpm_version_major": "1\n"}, FamilyTPM12},
		{"unknown major", map[string]string{"tpm_version_major": "3\n"}, FamilyNone},
		{"old kernel, 1.2 driver files", map[string]string{"device/caps": "Manufacturer: 0x49465800\n", "device/pcrs": "PCR-00: 00\n"}, FamilyTPM12},
		{"old kernel, 2.0", map[string]string{"device/description": "TPM 2.0 Device\n"}, FamilyTPM20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.files != nil {
				dir := filepath.Join(root, "class", "tpm", "tpm0")
				for p, c := range tt.files {
					full := filepath.Join(dir, p)
					if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := DetectFamily(root); got != tt.want {
				t.Errorf("DetectFamily = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFamilyOfSimulator(t *testing.T) {
	d := openSim(t, 30)
	got, err := d.Family()
	if err != nil {
		t.Fatalf("Family: %v", err)
	}
	if got != FamilyTPM20 {
		t.Errorf("Family() = %v, want 2.0", got)
	}
}

// tpm12 answers every command as a TPM 1.2 chip answers a TPM 2.0 command it
// cannot parse: TPM_TAG_RSP_COMMAND, a 10-byte response, TPM_BADTAG (0x1E).
// There is no TPM 1.2 emulator in process, and these ten bytes are all the
// behaviour Family depends on.
type tpm12 struct{}

func (tpm12) Send([]byte) ([]byte, error) {
	return []byte{0x00, 0xC4, 0, 0, 0, 10, 0, 0, 0, 0x1E}, nil
}
func (tpm12) Close() error { return nil }

func TestFamilyOfTPM12(t *testing.T) {
	d := &Device{tpm: tpm12{}, desc: "tpm 1.2"}
	got, err := d.Family()
	if err != nil {
		t.Fatalf("Family: %v", err)
	}
	if got != FamilyTPM12 {
		t.Errorf("Family() = %v, want 1.2", got)
	}
}

func TestFamilyString(t *testing.T) {
	for f, s := range map[Family]string{FamilyNone: "none", FamilyTPM12: "1.2", FamilyTPM20: "2.0"} {
		if f.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(f), f.String(), s)
		}
		back, err := ParseFamily(s)
		if err != nil || back != f {
			t.Errorf("ParseFamily(%q) = %v, %v; want %v", s, back, err, f)
		}
	}
	if _, err := ParseFamily("3.0"); err == nil {
		t.Error("ParseFamily(3.0) = nil error, want error")
	}
}

// fixed answers every command with the same bytes.
type fixed []byte

func (f fixed) Send([]byte) ([]byte, error) { return f, nil }
func (fixed) Close() error                  { return nil }

// FuzzFamily feeds arbitrary TPM responses to Family, which parses them
// by hand: it must never panic or read out of bounds.
func FuzzFamily(f *testing.F) {
	f.Add([]byte{0x00, 0xC4, 0, 0, 0, 10, 0, 0, 0, 0x1E})
	f.Add([]byte{0x80, 0x01, 0, 0, 0, 27, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 1, 0, 0x32, 0x2E, 0x30, 0})
	f.Add([]byte{0x80, 0x01})
	f.Fuzz(func(t *testing.T, rsp []byte) {
		d := &Device{tpm: fixed(rsp), desc: "fuzz"}
		fam, err := d.Family()
		if err == nil && fam == FamilyNone {
			t.Errorf("Family = none without an error for %x", rsp)
		}
	})
}
