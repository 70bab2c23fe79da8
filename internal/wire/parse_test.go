package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeStrict decodes data as the verifier's evidence handler did before
// ParseEvidence, and still does for what ParseEvidence leaves: one value,
// unknown fields refused.
func decodeStrict(data []byte) (Evidence, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ev Evidence
	if err := dec.Decode(&ev); err != nil {
		return ev, err
	}
	if dec.More() {
		return ev, errors.New("more than one JSON value")
	}
	return ev, nil
}

// agentEvidence are evidence bodies of the shapes agents send: the first
// attestation with its log and bundle files, later ones by hash, a quote
// per bank, a host without a TPM 2.0.
func agentEvidence() map[string]Evidence {
	banks := map[string]map[int][]byte{}
	for name, size := range map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64} {
		banks[name] = map[int][]byte{}
		for i := range 24 {
			banks[name][i] = bytes.Repeat([]byte{byte(i), byte(size)}, size/2)
		}
	}
	nonce := bytes.Repeat([]byte{0xfb}, 32)
	q := Quote{Attest: bytes.Repeat([]byte("attest"), 25), Signature: bytes.Repeat([]byte{0xff}, 72), PCRs: banks}
	hash := strings.Repeat("0f", 32)
	return map[string]Evidence{
		"first":         {Nonce: nonce, TPMFamily: FamilyTPM20, Quotes: []Quote{q}, EventLog: bytes.Repeat([]byte("log"), 200), Bundles: [][]byte{[]byte("bundle a"), {}, []byte("b")}},
		"held":          {Nonce: nonce, TPMFamily: FamilyTPM20, Quotes: []Quote{q}, EventLogSHA256: hash, BundlesSHA256: []string{hash, hash}},
		"quote a bank":  {Nonce: nonce, TPMFamily: FamilyTPM20, Quotes: []Quote{{Attest: []byte("a"), Signature: []byte("s"), PCRs: map[string]map[int][]byte{"sha256": banks["sha256"]}}, {PCRs: map[string]map[int][]byte{"sha1": {}}}}},
		"no TPM":        {Nonce: nonce, TPMFamily: FamilyNone},
		"empty nonce":   {Nonce: []byte{}, TPMFamily: FamilyTPM20},
		"no nonce":      {},
		"empty PCR map": {Nonce: nonce, Quotes: []Quote{{Attest: []byte{}, Signature: []byte{}, PCRs: map[string]map[int][]byte{}}}},
	}
}

// TestParseEvidenceAgentForms: what agents send, compact or indented,
// parses without encoding/json, to the Evidence encoding/json gives.
func TestParseEvidenceAgentForms(t *testing.T) {
	for name, ev := range agentEvidence() {
		compact, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		indented, err := json.MarshalIndent(&ev, "\t", "  ")
		if err != nil {
			t.Fatal(err)
		}
		for form, body := range map[string][]byte{"compact": compact, "indented": append(append([]byte(" \r\n"), indented...), "\n\t"...)} {
			got, ok := ParseEvidence(body)
			if !ok {
				t.Errorf("%s, %s: ParseEvidence left it to encoding/json", name, form)
				continue
			}
			want, err := decodeStrict(body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s: ParseEvidence = %+v, encoding/json = %+v", name, form, got, want)
			}
		}
	}
}

// TestParseEvidenceLeaves: bodies outside the plain form go to
// encoding/json, which refuses them or reads them in its own way.
func TestParseEvidenceLeaves(t *testing.T) {
	pcrs := func(s string) string { return `{"nonce":"bg==","quotes":[{"attest":"YQ==","pcrs":` + s + `}]}` }
	tests := map[string]string{
		"empty":                     ``,
		"only space":                " \n",
		"null":                      `null`,
		"an array":                  `[]`,
		"unknown field":             `{"nonce":"bg==","extra":1}`,
		"field in capitals":         `{"Nonce":"bg=="}`,
		"field twice":               `{"nonce":"bg==","nonce":"bw=="}`,
		"quote field twice":         `{"quotes":[{"attest":"YQ==","attest":"YQ=="}]}`,
		"escaped field name":        `{"non\u0063e":"bg=="}`,
		"escape in a string":        `{"tpm_family":"2\u002e0"}`,
		"escape in base64":          `{"nonce":"b\u0067=="}`,
		"escaped line break":        `{"nonce":"bg\n=="}`,
		"control character":         "{\"tpm_family\":\"2\x01\"}",
		"non-ASCII string":          `{"tpm_family":"二"}`,
		"bad base64":                `{"nonce":"bg="}`,
		"number for bytes":          `{"nonce":5}`,
		"string for a list":         `{"bundles_sha256":"ab"}`,
		"null in a list":            `{"bundles_sha256":[null]}`,
		"null quote":                `{"quotes":[null]}`,
		"null bundle":               `{"bundles":[null]}`,
		"trailing value":            `{"nonce":"bg=="} {}`,
		"trailing brace":            `{"nonce":"bg=="}}`,
		"trailing comma":            `{"nonce":"bg==",}`,
		"truncated":                 `{"nonce":"bg==`,
		"missing colon":             `{"nonce" "bg=="}`,
		"nul instead of null":       `{"nonce":nul}`,
		"PCR index with zero":       pcrs(`{"sha256":{"07":"YQ=="}}`),
		"PCR index with sign":       pcrs(`{"sha256":{"+7":"YQ=="}}`),
		"negative PCR index":        pcrs(`{"sha256":{"-1":"YQ=="}}`),
		"huge PCR index":            pcrs(`{"sha256":{"99999999999999999999":"YQ=="}}`),
		"PCR index not a number":    pcrs(`{"sha256":{"x":"YQ=="}}`),
		"PCR index twice":           pcrs(`{"sha256":{"1":"YQ==","1":"Yg=="}}`),
		"bank twice":                pcrs(`{"sha256":{"1":"YQ=="},"sha256":{}}`),
		"null bank":                 pcrs(`{"sha256":null}`),
		"null PCR value":            pcrs(`{"sha256":{"1":null}}`),
		"PCR value not base64":      pcrs(`{"sha256":{"1":"%%%%"}}`),
		"byte order mark":           "\xef\xbb\xbf{}",
		"tab in a base64 string":    "{\"nonce\":\"bg\t==\"}",
		"line break in base64":      "{\"nonce\":\"bg\n==\"}",
		"carriage return in base64": "{\"nonce\":\"bg==\r\"}",
		"bundles holding a number":  `{"bundles":[1]}`,
	}
	for name, body := range tests {
		if ev, ok := ParseEvidence([]byte(body)); ok {
			t.Errorf("%s: ParseEvidence(%q) = %+v, want it left to encoding/json", name, body, ev)
		}
	}
}

// FuzzParseEvidence: whatever ParseEvidence accepts, encoding/json (as the
// handler runs it) accepts too, with an equal Evidence; what it refuses
// encoding/json decides as before.
func FuzzParseEvidence(f *testing.F) {
	for _, ev := range agentEvidence() {
		b, err := json.Marshal(&ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"nonce":null,"tpm_family":null,"quotes":null,"event_log":null,"bundles":[],"bundles_sha256":null}`))
	f.Add([]byte(`{"quotes":[{"pcrs":{"sha256":{"0":"","10":"AA==","2":"AQ=="},"sha1":{}}},{"pcrs":null}]}`))
	f.Add([]byte(`{"quotes":[], "bundles" : [ "" , "AA==" ] , "event_log_sha256":"~ !"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := ParseEvidence(data)
		if !ok {
			return
		}
		want, err := decodeStrict(data)
		if err != nil {
			t.Fatalf("ParseEvidence accepted %q, which encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseEvidence(%q) = %+v, encoding/json gives %+v", data, got, want)
		}
	})
}
