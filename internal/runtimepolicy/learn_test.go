package runtimepolicy

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenHost is a golden host's log: the boot aggregate, a violation, a
// file measured twice with two versions, an excluded file, a signed file,
// a denied one and a legacy SHA-1 entry.
func goldenHost(t *testing.T) (base *Policy, ms []Measurement) {
	t.Helper()
	rsaK, _, _ := testKeys(t)
	signed := fileDigest("signed tool")
	legacy := sha1.Sum([]byte("legacy"))
	base = &Policy{
		UnknownFiles: ModeLogOnly,
		Exclude:      []string{"/tmp/*"},
		Deny:         []DenyRule{{Digest: FormatDigest("sha256", fileDigest("rootkit")), Mode: ModeEnforce}},
		TrustedKeys:  []TrustedKey{{Certificate: rsaK.certPEM, Label: "distro", Mode: ModeEnforce}},
		Allow:        map[string][]string{"/old/path": {FormatDigest("sha256", fileDigest("old"))}},
	}
	ms = []Measurement{
		{Index: 0, Path: BootAggregate, HashAlg: "sha256", FileHash: fileDigest("pcrs")},
		{Index: 1, Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: fileDigest("bash 5.2")},
		{Index: 2, Path: "/usr/lib/libc.so.6", HashAlg: "sha256", FileHash: make([]byte, 32)},
		{Index: 3, Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: fileDigest("bash 5.1")},
		{Index: 4, Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: fileDigest("bash 5.2")},
		{Index: 5, Path: "/tmp/build.sh", HashAlg: "sha256", FileHash: fileDigest("script")},
		{Index: 6, Path: "/opt/tool", HashAlg: "sha256", FileHash: signed, Signature: rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, signed)},
		{Index: 7, Path: "/usr/sbin/x", HashAlg: "sha256", FileHash: fileDigest("rootkit")},
		{Index: 8, Path: "/usr/bin/old", HashAlg: "sha1", FileHash: legacy[:]},
		{Index: 9, Path: "/dev/shm/x", HashAlg: "sha256"},
	}
	return base, ms
}

func TestLearn(t *testing.T) {
	base, ms := goldenHost(t)
	p, err := Learn(base, ms)
	if err != nil {
		t.Fatal(err)
	}
	p.TrustedKeys = nil // generated per run: keep the golden file stable
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "learned.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("learnt policy differs from %s:\n%s", golden, out)
	}
	if base.Allow["/old/path"] == nil || len(base.Allow) != 1 {
		t.Errorf("Learn changed its base's allow list: %v", base.Allow)
	}
	// The learnt policy allows every file of the host it was learnt from.
	learnt, err := Learn(base, ms)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Compile(learnt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		m := &ms[i]
		if d := j.Judge(m); learnable(m) && d.Failed() && m.Index != 7 { // 7 is denied
			t.Errorf("the golden host's own file fails its learnt policy: %s", d.Message())
		}
	}
}

func TestLearnErrors(t *testing.T) {
	tests := []struct {
		name string
		base *Policy
		ms   []Measurement
		want string
	}{
		{"invalid base", &Policy{UnknownFiles: "x"}, nil, `learn runtime policy: runtime policy: unknown_files: "x"`},
		{"unknown algorithm", Default(), []Measurement{{Index: 4, Path: "/bin/sh", HashAlg: "sm3", FileHash: fileDigest("sh")}}, `entry 4: "/bin/sh": digest algorithm "sm3"`},
		{"digest of the wrong size", Default(), []Measurement{{Index: 5, Path: "/bin/sh", HashAlg: "sha256", FileHash: []byte{1}}}, `entry 5: "/bin/sh": digest algorithm "sha256" with 1 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Learn(tt.base, tt.ms)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Learn error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
