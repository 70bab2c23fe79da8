package runtimepolicy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEvmctlSignature signs a file with evmctl (ima-evm-utils), as an
// operator or a distribution would, and judges it: the signed file is
// allowed by its signature with no digest listed, the same file changed
// after signing fails with ima.signature.
func TestEvmctlSignature(t *testing.T) {
	evmctl, err := exec.LookPath("evmctl")
	if err != nil {
		t.Skip("evmctl is not installed (Debian package ima-evm-utils): cannot check signatures made by the real tool")
	}
	rsaK, ecK, _ := testKeys(t)
	for _, tc := range []struct {
		name string
		key  *testKey
	}{{"RSA", rsaK}, {"ECDSA", ecK}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keyDER, err := x509.MarshalPKCS8PrivateKey(tc.key.signer)
			if err != nil {
				t.Fatal(err)
			}
			keyFile, file := filepath.Join(dir, "key.pem"), filepath.Join(dir, "tool")
			content := []byte("#!/bin/sh\necho signed\n")
			writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
			writeFile(t, file, content)
			cmd := exec.Command(evmctl, "ima_sign", "--sigfile", "--key", keyFile, "-a", "sha256", file)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("evmctl ima_sign: %v\n%s", err, out)
			}
			sig, err := os.ReadFile(file + ".sig")
			if err != nil {
				t.Fatal(err)
			}
			j, err := Compile(&Policy{UnknownFiles: ModeEnforce, TrustedKeys: []TrustedKey{{Certificate: tc.key.certPEM, Label: "evmctl", Mode: ModeEnforce}}})
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(content)
			m := Measurement{Index: 42, Path: "/usr/local/bin/tool", HashAlg: "sha256", FileHash: sum[:], Template: "ima-sig", Signature: sig}
			if d := j.Judge(&m); d.Outcome != AllowedBySignature {
				t.Fatalf("the file evmctl signed: %v, want allowed by signature: %s", d.Outcome, d.Message())
			}
			changed := sha256.Sum256(append(content, '#'))
			m.FileHash = changed[:]
			if d := j.Judge(&m); d.Code != CodeSignature || !d.Enforced {
				t.Fatalf("the file changed after signing: %v %q, want an enforced %s: %s", d.Outcome, d.Code, CodeSignature, d.Message())
			}
		})
	}
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
