package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadEvidenceDir gives appraise's reader arbitrary pcrs.json,
// evidence.json and nonce files, as a host's evidence folder could hold:
// it answers with data or an error, never a panic.
func FuzzReadEvidenceDir(f *testing.F) {
	f.Add([]byte(`{"sha256":{"0":"00"}}`), []byte(`{"host":"h1","tpm_family":"2.0"}`), []byte{1, 2, 3})
	f.Add([]byte(`{"sha1":{"99":"zz"}}`), []byte(`{}`), []byte{})
	f.Fuzz(func(t *testing.T, pcrs, evidence, nonce []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{"pcrs.json": pcrs, "evidence.json": evidence, "nonce.bin": nonce} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = readEvidenceDir(dir)
	})
}
