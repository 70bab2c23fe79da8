package runtimepolicy

import (
	"crypto"
	"reflect"
	"testing"
)

// FuzzParse: whatever the bytes, Parse returns a policy or an error, and a
// parsed policy that validates compiles and survives Marshal and Parse.
func FuzzParse(f *testing.F) {
	f.Add(readTestdata(f, "runtime.yaml"))
	f.Add(readTestdata(f, "learned.golden.yaml"))
	f.Add([]byte("allow: {/a: [sha1:00]}\n---\n"))
	f.Add([]byte("exclude: ['', '/**', '/***']\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if p.Validate() == nil {
			if _, err := Compile(p); err != nil {
				t.Fatalf("Compile of a valid policy: %v", err)
			}
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed policy: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(p)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalized(back), normalized(p)) {
			t.Fatalf("Parse(Marshal(p)) = %+v, want %+v", back, p)
		}
	})
}

// normalized drops the difference between an empty and a nil allow map,
// which YAML does not keep.
func normalized(p *Policy) *Policy {
	c := p.clone()
	if len(c.Allow) == 0 {
		c.Allow = nil
	}
	for _, s := range []*[]string{&c.Exclude} {
		if len(*s) == 0 {
			*s = nil
		}
	}
	if len(c.Deny) == 0 {
		c.Deny = nil
	}
	if len(c.TrustedKeys) == 0 {
		c.TrustedKeys = nil
	}
	return c
}

// FuzzParseSignature: any bytes give a signature or an error, never a
// panic, and a parsed signature's size agrees with its bytes.
func FuzzParseSignature(f *testing.F) {
	rsaK, ecK, _ := testKeys(f)
	d := fileDigest("x")
	f.Add(rsaK.sign(f, SigTypeDigsig, 2, 4, crypto.SHA256, d))
	f.Add(ecK.sign(f, SigTypeVerity, 3, 4, crypto.SHA256, d))
	f.Add([]byte{3, 2, 4, 0, 0, 0, 0, 0, 1, 0})
	ring, err := newKeyRing([]TrustedKey{{Certificate: rsaK.certPEM}, {Certificate: ecK.certPEM}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignature(b)
		if err != nil {
			return
		}
		if len(s.Sig)+sigHeaderLen != len(b) || s.Hash == 0 {
			t.Fatalf("ParseSignature(%x) = %+v", b, s)
		}
		_, _ = ring.verify(s, s.HashName, make([]byte, s.Hash.Size()))
	})
}
