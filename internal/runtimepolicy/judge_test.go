package runtimepolicy

import (
	"crypto"
	"crypto/sha1"
	"errors"
	"strings"
	"testing"
)

// judgeFixture is a policy with one rule of each kind and the files it
// names.
type judgeFixture struct {
	judge                       *Judge
	bash, bash2, evil, lib, cfg []byte
	rsaK, ecK, other            *testKey
}

func newJudgeFixture(t *testing.T, unknown string) *judgeFixture {
	t.Helper()
	f := &judgeFixture{bash: fileDigest("bash 5.2"), bash2: fileDigest("bash 5.1"), evil: fileDigest("rootkit"), lib: fileDigest("libc"), cfg: fileDigest("log line")}
	f.rsaK, f.ecK, f.other = testKeys(t)
	p := &Policy{
		UnknownFiles: unknown,
		Allow: map[string][]string{
			"/usr/bin/bash":      {FormatDigest("sha256", f.bash), FormatDigest("sha256", f.bash2)},
			"/usr/lib/libc.so.6": {FormatDigest("sha256", f.lib)},
		},
		Exclude: []string{"/tmp/*", "/var/log/**"},
		Deny: []DenyRule{
			{Digest: FormatDigest("sha256", f.evil), Label: "known rootkit", Mode: ModeEnforce},
			{Digest: FormatDigest("sha256", f.cfg), Label: "watched", Mode: ModeLogOnly},
		},
		TrustedKeys: []TrustedKey{
			{Certificate: f.rsaK.certPEM, Label: "distro", Mode: ModeEnforce},
			{Certificate: f.ecK.certPEM, Label: "team", Mode: ModeLogOnly},
		},
	}
	j, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	f.judge = j
	return f
}

func TestJudge(t *testing.T) {
	f := newJudgeFixture(t, ModeEnforce)
	signed := fileDigest("signed tool")
	sig := f.rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, signed)
	ecSig := f.ecK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, signed)
	bashSig := f.rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, f.bash2)
	sha1Bash := sha1.Sum([]byte("bash 5.2"))
	tests := []struct {
		name     string
		m        Measurement
		outcome  Outcome
		code     string
		enforced bool
		rule     string
		sigErr   error
		msg      string // a part of the message
	}{
		{"allowed digest", Measurement{Index: 7, Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.bash}, AllowedByDigest, "", false, "allow", nil, `entry 7: "/usr/bin/bash" (sha256:` + hexOf(f.bash) + `): allowed by allow["/usr/bin/bash"]`},
		{"second allowed digest", Measurement{Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.bash2}, AllowedByDigest, "", false, "allow", nil, "allowed by"},
		{"digest of another path", Measurement{Index: 9, Path: "/usr/bin/sh", HashAlg: "sha256", FileHash: f.bash}, Unknown, CodeUnknownFile, true, "unknown_files", nil, `entry 9: "/usr/bin/sh" (sha256:` + hexOf(f.bash) + `): the path is not in the policy`},
		{"digest not allowed for the path", Measurement{Index: 3, Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.lib}, Unknown, CodeUnknownFile, true, "unknown_files", nil, "the digest is not among the 2 allowed for this path"},
		{"same bytes, other algorithm", Measurement{Path: "/usr/bin/bash", HashAlg: "sha1", FileHash: sha1Bash[:]}, Unknown, CodeUnknownFile, true, "unknown_files", nil, "(sha1:"},
		{"no digest", Measurement{Index: 4, Path: "/usr/bin/bash"}, Unknown, CodeUnknownFile, true, "unknown_files", nil, "(no digest)"},
		{"excluded by *", Measurement{Path: "/tmp/x.sh", HashAlg: "sha256", FileHash: f.lib}, Excluded, "", false, `exclude[0] "/tmp/*"`, nil, "not judged"},
		{"* stops at /", Measurement{Path: "/tmp/a/x.sh", HashAlg: "sha256", FileHash: f.lib}, Unknown, CodeUnknownFile, true, "unknown_files", nil, ""},
		{"excluded by **", Measurement{Path: "/var/log/app/x", HashAlg: "sha256", FileHash: f.lib}, Excluded, "", false, `exclude[1] "/var/log/**"`, nil, ""},
		{"denied", Measurement{Index: 12, Path: "/usr/sbin/sshd", HashAlg: "sha256", FileHash: f.evil}, Denied, CodeDenied, true, "deny[0]", nil, `entry 12: "/usr/sbin/sshd" (sha256:` + hexOf(f.evil) + `): denied by deny[0] (known rootkit)`},
		{"denied under an excluded path", Measurement{Path: "/tmp/x", HashAlg: "sha256", FileHash: f.evil}, Denied, CodeDenied, true, "deny[0]", nil, ""},
		{"denied log-only", Measurement{Path: "/etc/x", HashAlg: "sha256", FileHash: f.cfg}, Denied, CodeDenied, false, "deny[1]", nil, "(log-only)"},
		{"denied beats a valid signature", Measurement{Path: "/usr/bin/x", HashAlg: "sha256", FileHash: f.evil, Signature: f.rsaK.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, f.evil)}, Denied, CodeDenied, true, "deny[0]", nil, ""},
		{"allowed by signature", Measurement{Path: "/opt/tool", HashAlg: "sha256", FileHash: signed, Signature: sig}, AllowedBySignature, "", false, `trusted_keys[0] "distro"`, nil, "allowed by its signature"},
		{"allowed by ECDSA signature", Measurement{Path: "/opt/tool", HashAlg: "sha256", FileHash: signed, Signature: ecSig}, AllowedBySignature, "", false, `trusted_keys[1] "team"`, nil, ""},
		{"changed after signing", Measurement{Index: 5, Path: "/opt/tool", HashAlg: "sha256", FileHash: f.lib, Signature: sig}, SignatureInvalid, CodeSignature, true, `trusted_keys[0] "distro"`, ErrBadSignature, `entry 5: "/opt/tool" (sha256:` + hexOf(f.lib) + `): IMA signature does not verify`},
		{"changed after signing, allowed digest", Measurement{Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.bash, Signature: bashSig}, SignatureInvalid, CodeSignature, true, `trusted_keys[0] "distro"`, ErrBadSignature, ""},
		{"changed after signing, log-only key", Measurement{Path: "/opt/tool", HashAlg: "sha256", FileHash: f.lib, Signature: ecSig}, SignatureInvalid, CodeSignature, false, `trusted_keys[1] "team"`, ErrBadSignature, "(log-only)"},
		{"untrusted key, allowed digest", Measurement{Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.bash, Signature: f.other.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, f.bash)}, AllowedByDigest, "", false, "allow", ErrUnknownKey, ""},
		{"untrusted key, unknown digest", Measurement{Path: "/opt/tool", HashAlg: "sha256", FileHash: signed, Signature: f.other.sign(t, SigTypeDigsig, 2, 4, crypto.SHA256, signed)}, Unknown, CodeUnknownFile, true, "unknown_files", ErrUnknownKey, "its signature allows nothing: IMA signature by an unknown key: key id"},
		{"EVM portable signature, unknown digest", Measurement{Path: "/opt/tool", HashAlg: "sha256", FileHash: signed, Signature: f.rsaK.sign(t, SigTypePortable, 2, 4, crypto.SHA256, signed)}, Unknown, CodeUnknownFile, true, "unknown_files", ErrSigVersion, "signs the file's metadata"},
		{"malformed signature, allowed digest", Measurement{Path: "/usr/bin/bash", HashAlg: "sha256", FileHash: f.bash, Signature: []byte{3, 2}}, AllowedByDigest, "", false, "allow", ErrSigMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.judge.Judge(&tt.m)
			if d.Outcome != tt.outcome || d.Code != tt.code || d.Enforced != tt.enforced || d.Rule != tt.rule {
				t.Errorf("Judge = %v %q enforced=%v rule %q, want %v %q enforced=%v rule %q\n%s", d.Outcome, d.Code, d.Enforced, d.Rule, tt.outcome, tt.code, tt.enforced, tt.rule, d.Message())
			}
			if !errors.Is(d.SigErr, tt.sigErr) {
				t.Errorf("SigErr = %v, want %v", d.SigErr, tt.sigErr)
			}
			if !strings.Contains(d.Message(), tt.msg) {
				t.Errorf("message %q does not contain %q", d.Message(), tt.msg)
			}
		})
	}
}

// TestJudgeUnknownLogOnly: with unknown_files: log-only an unknown file is
// reported, with its code, and does not fail the host.
func TestJudgeUnknownLogOnly(t *testing.T) {
	f := newJudgeFixture(t, ModeLogOnly)
	d := f.judge.Judge(&Measurement{Index: 2, Path: "/usr/local/bin/new", HashAlg: "sha256", FileHash: f.lib})
	if d.Outcome != Unknown || d.Code != CodeUnknownFile || d.Enforced || !d.Failed() {
		t.Fatalf("Judge = %v %q enforced=%v, want a log-only unknown file", d.Outcome, d.Code, d.Enforced)
	}
	if want := `entry 2: "/usr/local/bin/new" (sha256:` + hexOf(f.lib) + `): the path is not in the policy (log-only)`; d.Message() != want {
		t.Errorf("message\n%s\nwant\n%s", d.Message(), want)
	}
}

func hexOf(b []byte) string { return FormatDigest("x", b)[2:] }
