package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/bundle"
)

// runBootproof runs the command line in-process and returns its exit status
// and output.
func runBootproof(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runBootproof(t, args...)
	if code != 0 {
		t.Fatalf("bootproof %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func writeTestFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBundleCommands(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "vendor")
	out := mustRun(t, "bundle", "keygen", "--vendor", "Acme Drivers", "--out", keys)
	if !strings.Contains(out, filepath.Join(keys, "signing.key")) {
		t.Errorf("keygen output %q does not list the files", out)
	}
	if code, _, errs := runBootproof(t, "bundle", "keygen", "--vendor", "Acme Drivers", "--out", keys); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("keygen over existing keys: exit %d %q, want a refusal", code, errs)
	}
	other := filepath.Join(dir, "other")
	mustRun(t, "bundle", "keygen", "--vendor", "Other", "--out", other)

	payloads := filepath.Join(dir, "payloads")
	os.Mkdir(payloads, 0o755)
	p1 := writeTestFile(t, filepath.Join(payloads, "net.v00"), []byte("driver bytes"))
	p2 := writeTestFile(t, filepath.Join(payloads, "net.v01"), []byte("firmware bytes"))
	signed := filepath.Join(dir, "net.bundle")
	mustRun(t, "bundle", "sign", "--key", filepath.Join(keys, "signing.key"), "--cert", filepath.Join(keys, "signing.pem"),
		"--name", "net-acme", "--version", "1.2.3", "--vendor", "Acme Drivers", "--acceptance", "partner",
		"--payload", p1, "--payload", p2, "--out", signed)
	roots := filepath.Join(keys, "root.pem")

	out = mustRun(t, "bundle", "verify", signed, "--roots", roots, "--payload-dir", payloads)
	if !strings.Contains(out, "OK: net-acme 1.2.3 from Acme Drivers, acceptance partner") || !strings.Contains(out, "2 payloads match") {
		t.Errorf("verify output %q", out)
	}

	// The same bundle from a descriptor file.
	desc := writeTestFile(t, filepath.Join(dir, "d.json"), []byte(`{"name":"net-acme","version":"1.2.4","vendor":"Acme Drivers","acceptance":"accepted"}`))
	fromDesc := filepath.Join(dir, "d.bundle")
	mustRun(t, "bundle", "sign", "--key", filepath.Join(keys, "signing.key"), "--cert", filepath.Join(keys, "signing.pem"),
		"--descriptor", desc, "--payload", p1, "--out", fromDesc)
	mustRun(t, "bundle", "verify", fromDesc, "--roots", roots)

	// inspect, text and JSON.
	out = mustRun(t, "bundle", "inspect", signed)
	for _, want := range []string{"bundle:     net-acme 1.2.3", "acceptance: partner", "net.v01", "CN=Acme Drivers Code Signing", "not verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	var js bundleInspection
	if err := strictJSON([]byte(mustRun(t, "bundle", "inspect", "--json", signed)), &js); err != nil {
		t.Fatalf("inspect --json: %v", err)
	}
	if js.Descriptor.Acceptance != bundle.Partner || len(js.Descriptor.Payloads) != 2 || len(js.Chain) != 1 ||
		js.Chain[0].Subject != "CN=Acme Drivers Code Signing,O=Acme Drivers" || js.Alg == "" || js.Verified {
		t.Errorf("inspect --json: %+v", js)
	}

	// Failures: exit 1 with the precise reason.
	tampered := filepath.Join(dir, "tampered")
	os.Mkdir(tampered, 0o755)
	writeTestFile(t, filepath.Join(tampered, "net.v00"), []byte("driver bytes"))
	writeTestFile(t, filepath.Join(tampered, "net.v01"), []byte("firmware BYTES"))
	missing := filepath.Join(dir, "missing")
	os.Mkdir(missing, 0o755)
	writeTestFile(t, filepath.Join(missing, "net.v00"), []byte("driver bytes"))
	garbage := writeTestFile(t, filepath.Join(dir, "garbage.bundle"), []byte("MZ\x90\x00"))
	badSig := writeTestFile(t, filepath.Join(dir, "badsig.bundle"), retagBundle(t, signed))
	tlsOnly := tlsSignedBundle(t, dir, keys)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"other vendor's root", []string{signed, "--roots", filepath.Join(other, "root.pem")}, `chain does not end at a trusted root: leaf "Acme Drivers Code Signing"`},
		{"expired", []string{signed, "--roots", roots, "--at", time.Now().AddDate(30, 0, 0).Format(time.RFC3339)}, "certificate expired or not yet valid"},
		{"payload changed", []string{signed, "--roots", roots, "--payload-dir", tampered}, `payload "net.v01": sha256 is`},
		{"payload missing", []string{signed, "--roots", roots, "--payload-dir", missing}, `payload "net.v01" is in the descriptor but was not supplied`},
		{"not a bundle", []string{garbage, "--roots", roots}, "malformed bundle: invalid JSON at byte 1"},
		{"bad signature", []string{badSig, "--roots", roots}, "bad signature: bundle net-acme 1.2.3 is not signed by leaf"},
		{"not a code-signing certificate", []string{tlsOnly, "--roots", roots}, `certificate not allowed to sign code: leaf "acme tls": extKeyUsage lacks codeSigning`},
		{"no roots flag", []string{signed}, "--roots is required"},
		{"roots not PEM", []string{signed, "--roots", garbage}, "not PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runBootproof(t, append([]string{"bundle", "verify"}, tt.args...)...)
			if code != 1 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errs, tt.want)
			}
		})
	}

	if code, _, errs := runBootproof(t, "bundle", "sign", "--key", filepath.Join(other, "signing.key"), "--cert", filepath.Join(keys, "signing.pem"),
		"--name", "x", "--version", "1", "--vendor", "v", "--acceptance", "partner", "--payload", p1, "--out", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errs, "does not match") {
		t.Errorf("sign with a key of another certificate: exit %d %q", code, errs)
	}
	if code, _, errs := runBootproof(t, "bundle", "sign", "--key", filepath.Join(keys, "signing.key"), "--cert", filepath.Join(keys, "signing.pem"),
		"--name", "x", "--version", "1", "--vendor", "v", "--acceptance", "gold", "--payload", p1, "--out", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errs, `unknown acceptance level "gold"`) {
		t.Errorf("sign with a bad level: exit %d %q", code, errs)
	}
}

// retagBundle changes the signed descriptor's acceptance level and keeps
// the signature.
func retagBundle(t *testing.T, path string) []byte {
	t.Helper()
	raw, _ := os.ReadFile(path)
	var env bundle.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	env.Descriptor = bytes.Replace(env.Descriptor, []byte(`"partner"`), []byte(`"certified"`), 1)
	b, _ := json.Marshal(env)
	return b
}

// tlsSignedBundle signs a bundle with a certificate the vendor root issued
// for TLS, not for code.
func tlsSignedBundle(t *testing.T, dir, keys string) string {
	t.Helper()
	files := map[string][]byte{}
	for _, n := range []string{bundle.RootCertFile, bundle.RootKeyFile, bundle.SigningCertFile, bundle.SigningKeyFile} {
		files[n], _ = os.ReadFile(filepath.Join(keys, n))
	}
	k, err := bundle.LoadKeys(files)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	c, err := bundle.Issue(bundle.CertSpec{CommonName: "acme tls", ServerAuth: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)},
		key.Public(), k.Root, k.RootKey, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := bundle.MarshalKeyPEM(key)
	kf := writeTestFile(t, filepath.Join(dir, "tls.key"), keyPEM)
	cf := writeTestFile(t, filepath.Join(dir, "tls.pem"), bundle.CertsPEM(c))
	p := writeTestFile(t, filepath.Join(dir, "tls-payload"), []byte("x"))
	out := filepath.Join(dir, "tls.bundle")
	mustRun(t, "bundle", "sign", "--key", kf, "--cert", cf, "--name", "t", "--version", "1", "--vendor", "Acme", "--acceptance", "partner", "--payload", p, "--out", out)
	return out
}

// strictJSON decodes a command's JSON output into the type the command
// writes, refusing fields that type does not have.
func strictJSON(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}
