package bundle

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	k := mustKeys(t, "VMware", 1)
	good := mustSign(t, testDescriptor(t), k.Signer)
	var env map[string]any
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	with := func(key string, v any) []byte {
		m := map[string]any{}
		for k, x := range env {
			m[k] = x
		}
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty input"},
		{"not json", []byte("-----BEGIN CERTIFICATE-----"), "invalid JSON at byte 2"},
		{"trailing", append(append([]byte{}, good...), []byte(" {}")...), "trailing data"},
		{"unknown field", with("comment", "hi"), `unknown field "comment"`},
		{"wrong format", with("format", "vib/1"), `format "vib/1"`},
		{"no format", with("format", nil), `format ""`},
		{"descriptor not base64", with("descriptor", "!!"), "descriptor: base64"},
		{"descriptor invalid", with("descriptor", b64([]byte(`{"name":"x"}`))), "descriptor: version: missing"},
		{"descriptor unknown field", with("descriptor", b64([]byte(`{"name":"x","evil":1}`))), `unknown field "evil"`},
		{"alg unknown", with("alg", "rsa"), `alg "rsa"`},
		{"signature short", with("signature", b64([]byte("abc"))), "signature: 3 bytes, want 64"},
		{"no chain", with("chain", []string{}), "chain: no certificate"},
		{"chain garbage", with("chain", []string{b64([]byte("not a cert"))}), "chain[0]:"},
		{"chain too long", with("chain", make([]string, 9)), "chain: 9 certificates, at most 8"},
		{"chain wrong type", with("chain", "x"), `field "chain"`},
		{"too big", make([]byte, MaxFileBytes+1), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDescriptorValidate(t *testing.T) {
	base := testDescriptor(t)
	p := base.Payloads[0]
	mod := func(f func(d *Descriptor)) Descriptor {
		d := base
		d.Payloads = append([]Payload(nil), base.Payloads...)
		f(&d)
		return d
	}
	tests := []struct {
		name string
		d    Descriptor
		want string
	}{
		{"good", base, ""},
		{"name with slash", mod(func(d *Descriptor) { d.Name = "../etc" }), `name: "../etc" has byte '/' at 2`},
		{"no version", mod(func(d *Descriptor) { d.Version = "" }), "version: missing"},
		{"vendor control char", mod(func(d *Descriptor) { d.Vendor = "V\nM" }), "vendor: "},
		{"no acceptance", mod(func(d *Descriptor) { d.Acceptance = 0 }), "acceptance: missing or invalid"},
		{"duplicate payload", mod(func(d *Descriptor) { d.Payloads = append(d.Payloads, p) }), `payloads[1].name: duplicate payload "b.b00"`},
		{"dot payload", mod(func(d *Descriptor) { d.Payloads[0].Name = ".hidden" }), "starts with a dot"},
		{"negative size", mod(func(d *Descriptor) { d.Payloads[0].Size = -1 }), "payloads[0] (b.b00).size: -1 out of range"},
		{"short sha256", mod(func(d *Descriptor) { d.Payloads[0].SHA256 = "abcd" }), "payloads[0] (b.b00).sha256: 4 hex digits, want 64"},
		{"upper hex sha512", mod(func(d *Descriptor) { d.Payloads[0].SHA512 = strings.ToUpper(p.SHA512) }), "sha512: byte 'B' at 1 is not a lowercase hex digit"},
		{"too many payloads", mod(func(d *Descriptor) {
			for i := 0; i <= MaxPayloads; i++ {
				q := p
				q.Name = "m" + strings.Repeat("x", i%100) + string(rune('a'+i%26)) + "." + string(rune('a'+i/26))
				d.Payloads = append(d.Payloads, q)
			}
		}), "at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDescriptorCanonicalIsStable(t *testing.T) {
	raw, err := os.ReadFile("testdata/esx-base.descriptor.json")
	if err != nil {
		t.Fatal(err)
	}
	d := testDescriptor(t)
	c1, err := d.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ParseDescriptor(c1)
	if err != nil {
		t.Fatalf("ParseDescriptor(canonical): %v", err)
	}
	c2, _ := d2.Canonical()
	if string(c1) != string(c2) {
		t.Errorf("canonical form changed on a round trip:\n%s\n%s", c1, c2)
	}
	want := `{"name":"esx-base","version":"6.7.0-3.73.14320388","vendor":"VMware","acceptance":"certified","payloads":[{"name":"b.b00"`
	if !strings.HasPrefix(string(c1), want) {
		t.Errorf("canonical = %s\nwant prefix %s", c1, want)
	}
	if string(c1) == string(raw) {
		t.Errorf("test file should be indented, to show that Canonical compacts it")
	}
}

func TestVerifyPayloads(t *testing.T) {
	d := Descriptor{Name: "net-driver", Version: "1.0", Vendor: "Partner", Acceptance: Partner,
		Payloads: []Payload{NewPayload("net.v00", []byte("driver")), NewPayload("net.v01", []byte("firmware"))}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		payloads  map[string][]byte
		wantField string
		wantName  string
	}{
		{"all match", map[string][]byte{"net.v00": []byte("driver"), "net.v01": []byte("firmware")}, "", ""},
		{"missing", map[string][]byte{"net.v00": []byte("driver")}, "missing", "net.v01"},
		{"size", map[string][]byte{"net.v00": []byte("driver!"), "net.v01": []byte("firmware")}, "size", "net.v00"},
		{"same size other bytes", map[string][]byte{"net.v00": []byte("driver"), "net.v01": []byte("firmwarE")}, "sha256", "net.v01"},
		{"extra", map[string][]byte{"net.v00": []byte("driver"), "net.v01": []byte("firmware"), "rootkit.v00": nil}, "unexpected", "rootkit.v00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyPayloads(&d, tt.payloads)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("VerifyPayloads = %v", err)
				}
				return
			}
			var pe *PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, ErrPayloadMismatch) {
				t.Fatalf("VerifyPayloads = %v, want a PayloadError", err)
			}
			if pe.Field != tt.wantField || pe.Payload != tt.wantName {
				t.Errorf("PayloadError{Field: %q, Payload: %q}, want %q %q (%v)", pe.Field, pe.Payload, tt.wantField, tt.wantName, err)
			}
			if !strings.Contains(err.Error(), tt.wantName) {
				t.Errorf("error %q does not name %s", err, tt.wantName)
			}
		})
	}
}

func TestAcceptanceOrder(t *testing.T) {
	levels := Levels()
	for i := 1; i < len(levels); i++ {
		if !(levels[i-1] > levels[i]) {
			t.Errorf("%v should be above %v", levels[i-1], levels[i])
		}
	}
	for _, a := range levels {
		got, err := ParseAcceptance(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAcceptance(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseAcceptance("Certified"); err == nil {
		t.Errorf("ParseAcceptance is case-sensitive, as descriptors are")
	}
	if _, err := json.Marshal(Acceptance(9)); err == nil {
		t.Errorf("marshalling an invalid level should fail")
	}
}
