package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/wire"
)

// decodeBoth decodes body with decodeEvidence and with decode as the
// handler did before it, each on a request of its own.
func decodeBoth(body func() io.Reader, contentLength int64) (got, want wire.Evidence, gotErr, wantErr error) {
	r := httptest.NewRequest("POST", "/agent/v1/evidence", body())
	r.ContentLength = contentLength
	gotErr = decodeEvidence(httptest.NewRecorder(), r, &got)
	r = httptest.NewRequest("POST", "/agent/v1/evidence", body())
	r.ContentLength = contentLength
	wantErr = decode(httptest.NewRecorder(), r, wire.MaxBodyBytes, &want)
	return got, want, gotErr, wantErr
}

// sameAnswer fails t unless decodeEvidence answered as decode did: the
// same refusal (status, code and message) or the same Evidence.
func sameAnswer(t *testing.T, name string, body func() io.Reader, contentLength int64) {
	t.Helper()
	got, want, gotErr, wantErr := decodeBoth(body, contentLength)
	if !reflect.DeepEqual(gotErr, wantErr) {
		t.Errorf("%s: decodeEvidence refused with %v, decode with %v", name, gotErr, wantErr)
		return
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decodeEvidence gave %+v, decode %+v", name, got, want)
	}
}

// failingReader gives data, then fails as a client that went away does.
type failingReader struct{ data io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// TestDecodeEvidenceAnswersAsBefore: whether wire.ParseEvidence reads a
// body or leaves it to encoding/json, the agent gets the answer decode
// gave: the same Evidence, or the same refusal (malformed_json,
// body_too_large) with the same message.
func TestDecodeEvidenceAnswersAsBefore(t *testing.T) {
	agent, err := json.Marshal(&wire.Evidence{Nonce: []byte("nonce"), TPMFamily: wire.FamilyTPM20,
		Quotes: []wire.Quote{{Attest: []byte("a"), Signature: []byte("s"),
			PCRs: map[string]map[int][]byte{"sha256": {0: make([]byte, 32), 10: make([]byte, 32)}}}},
		EventLogSHA256: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	tooLarge := `{"event_log":"` + strings.Repeat("A", wire.MaxBodyBytes) + `"}`
	bodies := map[string]string{
		"agent's":               string(agent),
		"agent's, indented":     strings.ReplaceAll(string(agent), ",", ",\n  "),
		"empty":                 "",
		"null":                  "null",
		"unknown field":         `{"nonce":"bg==","extra":1}`,
		"field in capitals":     `{"Nonce":"bg=="}`,
		"field twice":           `{"nonce":"bg==","nonce":"bw=="}`,
		"bad base64":            `{"nonce":"bg="}`,
		"number for a string":   `{"tpm_family":2}`,
		"PCR index not decimal": `{"quotes":[{"pcrs":{"sha256":{"x":"AA=="}}}]}`,
		"PCR index with zero":   `{"quotes":[{"pcrs":{"sha256":{"07":"AA=="}}}]}`,
		"two values":            `{} {}`,
		"trailing brace":        `{}}`,
		"truncated":             string(agent[:len(agent)/2]),
		"too large":             tooLarge,
		"too large after the value, in white space": `{"nonce":"bg=="}` + strings.Repeat(" ", wire.MaxBodyBytes),
	}
	for name, body := range bodies {
		for _, cl := range []int64{-1, int64(len(body))} {
			sameAnswer(t, name, func() io.Reader { return strings.NewReader(body) }, cl)
		}
	}
	sameAnswer(t, "client gone midway", func() io.Reader { return failingReader{bytes.NewReader(agent[:100])} }, -1)
	sameAnswer(t, "client gone after the value", func() io.Reader { return failingReader{bytes.NewReader(agent)} }, -1)

	// The refusals themselves, as agents see them.
	for name, want := range map[string]string{"unknown field": "malformed_json", "too large": "body_too_large", "trailing brace": ""} {
		r := httptest.NewRequest("POST", "/agent/v1/evidence", strings.NewReader(bodies[name]))
		var ev wire.Evidence
		err := decodeEvidence(httptest.NewRecorder(), r, &ev)
		he, _ := err.(*httpError)
		if (want == "" && err != nil) || (want != "" && (he == nil || he.Body.Code != want)) {
			t.Errorf("%s: decodeEvidence = %v, want code %q", name, err, want)
		}
	}
}

// TestDecodeEvidenceAllocations: the agent's plain form is read without
// encoding/json's reflection, which took 279 allocations for a quote of 4
// banks of 24 PCRs.
func TestDecodeEvidenceAllocations(t *testing.T) {
	banks := map[string]map[int][]byte{}
	for bank, size := range map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64} {
		banks[bank] = map[int][]byte{}
		for i := range 24 {
			banks[bank][i] = make([]byte, size)
		}
	}
	q := wire.Quote{Attest: make([]byte, 145), Signature: make([]byte, 72), PCRs: banks}
	body, err := json.Marshal(&wire.Evidence{Nonce: make([]byte, 32), TPMFamily: wire.FamilyTPM20, Quotes: []wire.Quote{q},
		EventLogSHA256: strings.Repeat("ab", 32), BundlesSHA256: []string{strings.Repeat("cd", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/agent/v1/evidence", nil)
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(50, func() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		var ev wire.Evidence
		if err := decodeEvidence(w, r, &ev); err != nil {
			t.Fatal(err)
		}
	})
	// The maps (one per bank and one of banks), a few arena chunks, the
	// strings and the slices: about 20.
	if allocs > 40 {
		t.Errorf("decoding an agent's evidence took %.0f allocations, want at most 40", allocs)
	}
}

// FuzzDecodeEvidence: for any body, decodeEvidence answers as decode did.
func FuzzDecodeEvidence(f *testing.F) {
	f.Add([]byte(`{"nonce":"bg==","tpm_family":"2.0","quotes":[{"attest":"YQ==","signature":"cw==","pcrs":{"sha256":{"0":"AA=="}}}]}`))
	f.Add([]byte(`{"nonce":"bg==","Quotes":[]}`))
	f.Add([]byte(`{"bundles_sha256":["ab",null]} x`))
	f.Add([]byte(`{"quotes":[{"pcrs":{"sha1":{"-0":"AA=="}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAnswer(t, "fuzzed body", func() io.Reader { return bytes.NewReader(body) }, -1)
	})
}
