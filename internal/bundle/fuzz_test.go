package bundle

import (
	"crypto/x509"
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	k := mustKeys(f, "VMware", 1)
	f.Add(mustSign(f, testDescriptor(f), k.Signer))
	if golden, err := os.ReadFile("testdata/esx-base.bundle"); err == nil {
		f.Add(golden)
	}
	f.Add([]byte(`{"format":"bootproof-bundle/v1","descriptor":"e30=","alg":"ed25519","signature":"","chain":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bd, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must be safe to verify.
		_ = bd.Verify([]*x509.Certificate{k.Root}, now)
		if err := bd.Descriptor.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid descriptor: %v", err)
		}
	})
}

func FuzzDescriptor(f *testing.F) {
	b, err := os.ReadFile("testdata/esx-base.descriptor.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"name":"a","version":"1","vendor":"v","acceptance":"community","payloads":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDescriptor(b)
		if err != nil {
			return
		}
		c, err := d.Canonical()
		if err != nil {
			t.Fatalf("parsed descriptor has no canonical form: %v", err)
		}
		d2, err := ParseDescriptor(c)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v", err)
		}
		c2, _ := d2.Canonical()
		if string(c) != string(c2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", c, c2)
		}
	})
}

func FuzzPEM(f *testing.F) {
	k := mustKeys(f, "VMware", 1)
	files, err := k.Files()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(files[SigningCertFile], files[SigningKeyFile])
	f.Add(files[RootCertFile], files[RootKeyFile])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte("junk"))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		s, err := LoadSigner(certPEM, keyPEM, nil)
		if err == nil && (len(s.Chain) == 0 || !samePublicKey(s.Key.Public(), s.Chain[0].PublicKey)) {
			t.Fatalf("LoadSigner accepted a signer whose key does not match its certificate")
		}
	})
}
