package enroll

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// canonicalName turns a DER Name into a string that is equal for names that
// RFC 5280 §7.1 (and OpenSSL's canonical form) treat as equal: the string
// type of each value is ignored (PrintableString vs UTF8String), case is
// folded, leading and trailing spaces trimmed and inner runs of spaces
// collapsed, and the attributes inside one RDN are sorted.
//
// Quirk it handles: STMicroelectronics' ECC intermediates encode their
// issuer as UTF8String while the root's subject is PrintableString; Go's
// crypto/x509 compares names byte for byte and will not link them.
func canonicalName(der []byte) (string, error) {
	var rdns pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &rdns)
	if err != nil {
		return "", fmt.Errorf("parse name: %w", err)
	}
	if len(rest) != 0 {
		return "", fmt.Errorf("parse name: %d trailing bytes", len(rest))
	}
	var b strings.Builder
	for _, rdn := range rdns {
		parts := make([]string, 0, len(rdn))
		for _, atv := range rdn {
			parts = append(parts, atv.Type.String()+"="+canonicalValue(atv.Value))
		}
		sort.Strings(parts)
		b.WriteString("/")
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String(), nil
}

func canonicalValue(v any) string {
	s, ok := v.(string)
	if !ok {
		// Not a string type Go decodes: compare its DER.
		der, err := asn1.Marshal(v)
		if err != nil {
			return fmt.Sprintf("%#v", v)
		}
		return "#" + hex.EncodeToString(der)
	}
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.Fields(s), " ")
}
