package enroll

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// name encodes one RDN sequence with each value in the given string tag.
func name(t testing.TB, tag int, rdns ...[][2]string) []byte {
	t.Helper()
	var seq pkix.RDNSequence
	oids := map[string]asn1.ObjectIdentifier{"CN": {2, 5, 4, 3}, "O": {2, 5, 4, 10}, "C": {2, 5, 4, 6}}
	for _, rdn := range rdns {
		var set pkix.RelativeDistinguishedNameSET
		for _, kv := range rdn {
			set = append(set, pkix.AttributeTypeAndValue{Type: oids[kv[0]], Value: asn1.RawValue{Tag: tag, Bytes: []byte(kv[1])}})
		}
		seq = append(seq, set)
	}
	b, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCanonicalName(t *testing.T) {
	stm := [][2]string{{"C", "CH"}}
	stmCN := [][2]string{{"CN", "STM TPM ECC Root CA 01"}}
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"PrintableString vs UTF8String", name(t, asn1.TagPrintableString, stm, stmCN), name(t, asn1.TagUTF8String, stm, stmCN), true},
		{"case and spaces", name(t, asn1.TagUTF8String, [][2]string{{"CN", "  IFX  TPM EK Root CA "}}), name(t, asn1.TagUTF8String, [][2]string{{"CN", "ifx tpm ek root ca"}}), true},
		{"multi-valued RDN order", name(t, asn1.TagUTF8String, [][2]string{{"CN", "NTC"}, {"O", "Nuvoton"}}), name(t, asn1.TagUTF8String, [][2]string{{"O", "Nuvoton"}, {"CN", "NTC"}}), true},
		{"different CN", name(t, asn1.TagUTF8String, [][2]string{{"CN", "CA 01"}}), name(t, asn1.TagUTF8String, [][2]string{{"CN", "CA 02"}}), false},
		{"RDN order matters", name(t, asn1.TagUTF8String, stm, stmCN), name(t, asn1.TagUTF8String, stmCN, stm), false},
		{"split RDN is not multi-valued RDN", name(t, asn1.TagUTF8String, [][2]string{{"CN", "NTC"}, {"O", "N"}}), name(t, asn1.TagUTF8String, [][2]string{{"CN", "NTC"}}, [][2]string{{"O", "N"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := canonicalName(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := canonicalName(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if (a == b) != tt.same {
				t.Errorf("canonicalName equal = %v, want %v:\n%s\n%s", a == b, tt.same, a, b)
			}
		})
	}
	if _, err := canonicalName([]byte{0x30, 0x05}); err == nil {
		t.Error("canonicalName of truncated DER = nil error, want error")
	}
}

func FuzzCanonicalName(f *testing.F) {
	f.Add(name(f, asn1.TagUTF8String, [][2]string{{"CN", "x"}, {"O", "y"}}))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		canonicalName(b)
	})
}

func FuzzParseTPMSAN(f *testing.F) {
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseTPMSAN(b)
	})
}
