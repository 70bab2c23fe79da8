package policy

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestDiff(t *testing.T) {
	at := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	old := Default()
	old.References.Kernel = []Reference{{SHA256: hexOf('a', 32), Label: "6.1.0-18"}, {SHA256: hexOf('b', 32), Label: "6.1.0-20"}}
	old.References.Bootloader = []Reference{{SHA256: hexOf('c', 32), Label: "grub"}, {SHA256: hexOf('d', 32), Label: "shim", Expires: at}}
	old.References.BootOptions = []Reference{{SHA256: hexOf('e', 32), Label: "root=UUID=1"}}
	new := old.Clone()
	new.References.Kernel = []Reference{{SHA256: hexOf('b', 32), Label: "6.1.0-20", Expires: at}, {SHA256: hexOf('f', 32), Label: "6.1.0-21"}}
	new.References.Bootloader = []Reference{{SHA256: hexOf('c', 32), Label: "GRUB 2.06"}, {SHA256: hexOf('d', 32), Label: "shim"}}
	new.References.BootOptions = nil
	new.Enforcement = EnforceWarn
	new.PCRsIgnore = []int{10, 14}
	new.Bundles.MinAcceptance = "certified"

	got := Diff(old, new).String()
	golden := filepath.Join("testdata", "diff.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Diff:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	for i := 0; i < 20; i++ {
		if again := Diff(old, new).String(); again != got {
			t.Fatalf("Diff is not deterministic:\n%s\nthen\n%s", got, again)
		}
	}
	if d := Diff(old, old.Clone()); !d.Empty() || d.String() != "no change\n" {
		t.Errorf("Diff of a policy with its clone = %q, want no change", d.String())
	}
}
