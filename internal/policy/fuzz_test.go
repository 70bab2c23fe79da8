package policy

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("interval: 1m\n---\n"))
	f.Add([]byte("references: {kernel: [{sha256: 00}]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		_ = p.Validate()
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed policy: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("Parse(Marshal(p)): %v\n%s", err, out)
		}
	})
}

// FuzzCheckHex compares checkHex, which skips decoding valid digests, with
// the plain decode-and-compare it replaced: same answer, same message.
func FuzzCheckHex(f *testing.F) {
	for _, s := range []string{"00ff", "00FF", "00gg", "00f", "", "é0", "ABCDEF01"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, size int) {
		want := func() error {
			if s != strings.ToLower(s) {
				return fmt.Errorf("%q: want lowercase hex", s)
			}
			b, err := hex.DecodeString(s)
			if err != nil {
				return fmt.Errorf("%q: not hex", s)
			}
			if len(b) != size {
				return fmt.Errorf("%q: %d bytes, want %d", s, len(b), size)
			}
			return nil
		}()
		if got := checkHex(s, size); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("checkHex(%q, %d) = %v, want %v", s, size, got, want)
		}
	})
}
