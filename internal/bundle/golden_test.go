package bundle

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestGoldenBundle pins the file format: the test descriptor signed with the
// seeded test keys must give exactly testdata/esx-base.bundle (Ed25519 is
// deterministic), and that file must keep verifying.
func TestGoldenBundle(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	got := mustSign(t, testDescriptor(t), k.Signer)
	const golden = "testdata/esx-base.bundle"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/vmware-root.pem", CertsPEM(k.Root), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("signing the test descriptor no longer gives %s: the file format changed (go test -update if intended)", golden)
	}
	rootPEM, err := os.ReadFile("testdata/vmware-root.pem")
	if err != nil {
		t.Fatal(err)
	}
	roots, err := ParseCertificatesPEM(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(want)
	if err != nil {
		t.Fatalf("Parse(%s): %v", golden, err)
	}
	if err := b.Verify(roots, now); err != nil {
		t.Errorf("Verify(%s): %v", golden, err)
	}
}
