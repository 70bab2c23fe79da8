package verifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

// awkward are strings encoding/json escapes: quotes and backslashes,
// control characters with and without a short escape, HTML's <, > and &,
// DEL, invalid UTF-8, U+2028 and U+2029, and plain non-ASCII.
var awkward = []string{
	"", "plain", `say "hi" \ bye`, "\x00\x01\x1f\b\f\n\r\t", "<script>&amp;</script>", "del\x7f",
	"bad \xff utf-8 \xc3", "line\u2028para\u2029", "é ü 日本 🙂", strings.Repeat("x", 300),
}

// sameJSON fails t unless got is byte for byte what json.Marshal writes
// for v.
func sameJSON(t *testing.T, what string, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: json.Marshal: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from json.Marshal:\n got %s\nwant %s", what, got, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range awkward {
		sameJSON(t, fmt.Sprintf("string %q", s), appendString(nil, s), s)
	}
}

func intp(i int) *int { return &i }

// variedVerdicts cover every status and every field of a verdict empty,
// absent and full, with awkward strings wherever a string goes.
func variedVerdicts() map[string]*appraisal.Verdict {
	full := appraisal.Check{Code: appraisal.CodeRefModule, Passed: false, Message: "module <b> & \"c\"", Bank: "sha256",
		PCR: intp(9), EventIndex: intp(-1), Component: "/boot/k\x00", Expected: []string{"ab", "c\u2028d"}, Found: "ef\xff"}
	out := map[string]*appraisal.Verdict{
		"zero":                  {},
		"empty checks":          {Status: appraisal.NA, Checks: []appraisal.Check{}},
		"bare check":            {Status: appraisal.Passed, Checks: []appraisal.Check{{Code: "quote.nonce", Passed: true}}},
		"full check":            {Status: appraisal.Failed, Checks: []appraisal.Check{full, {Code: "x", PCR: intp(0), EventIndex: intp(0), Expected: []string{}}}},
		"clock":                 {Status: appraisal.Passed, Clock: &appraisal.ClockInfo{Clock: 1<<64 - 1, ResetCount: 1<<32 - 1, RestartCount: 7, Safe: true}},
		"zero clock":            {Status: appraisal.Passed, Clock: &appraisal.ClockInfo{}},
		"empty secure boot":     {Status: appraisal.Failed, SecureBoot: &appraisal.SecureBoot{PK: []string{}}},
		"full secure boot":      {Status: appraisal.Passed, Bank: "sha512", SecureBoot: &appraisal.SecureBoot{Enabled: true, PK: []string{"pk"}, KEK: []string{"k1", "k2"}, DB: []string{"db"}, DBX: -3, Authorities: []string{"a&b"}}},
		"empty lists and maps":  {Status: appraisal.Passed, Components: policy.Components{}, PCRs: map[string]map[int]string{}, Bundles: []appraisal.Bundle{}},
		"nil and empty digests": {Status: appraisal.Passed, Components: policy.Components{{Class: "kernel"}, {Class: "modules", Name: "n", PCR: 12, EventIndex: 40, Digests: map[string]string{}}}},
		"bundles":               {Status: appraisal.Failed, Bundles: []appraisal.Bundle{{}, {Name: "esx-base", Version: "6.7.0-1", Vendor: "VMware<>", Acceptance: "community", Signature: "valid"}}},
		"not checked":           {Status: appraisal.Passed, NotChecked: []appraisal.Check{{Code: "quote.signature", Message: "Not checked: no quote."}}},
		"certificates by name": {Status: appraisal.Passed, SecureBoot: &appraisal.SecureBoot{PKCerts: []appraisal.CertName{{}}, KEKCerts: []appraisal.CertName{{Subject: "K<1>", SHA256: "ab"}, {Subject: "K2"}},
			DBCerts: []appraisal.CertName{{Subject: "db", SHA256: "cd"}}, AuthorityCerts: []appraisal.CertName{{SHA256: "ef"}}}},
		"shim":             {Status: appraisal.Passed, SecureBoot: &appraisal.SecureBoot{Enabled: true, Shim: &appraisal.ShimState{SbatLevel: "sbat,1\nshim,4\n", Validation: "on", MokLists: []appraisal.Measurement{{PCR: 14, EventIndex: 24, Type: "EV_IPL", Name: "MokList", SHA256: "ab", Note: "contents not in the log"}}}}},
		"bare shim":        {Status: appraisal.Passed, SecureBoot: &appraisal.SecureBoot{Shim: &appraisal.ShimState{}}},
		"not judged":       {Status: appraisal.Passed, NotJudged: []appraisal.Measurement{{}, {PCR: 1, EventIndex: 10, Type: "EV_EFI_VARIABLE_BOOT", Name: "BootOrder = 0001", NameProven: true, SHA256: "ab"}, {PCR: -1, Note: "n"}}},
		"empty not judged": {Status: appraisal.Passed, NotJudged: []appraisal.Measurement{}, SecureBoot: &appraisal.SecureBoot{PKCerts: []appraisal.CertName{}, Shim: &appraisal.ShimState{MokLists: []appraisal.Measurement{}}}},
	}
	// Indices below 64 take the encoder's short way, others its sorting one,
	// and a map holding both the second.
	pcrs := map[string]map[int]string{"sha256": {}, "sha512": {}, "sha1": nil, "SHA384": {-1: "neg", 1 << 40: "big"},
		"sm3": {7: "a", 63: "b", 64: "c", 100: "d", 0: "e"}}
	banks := map[string]string{}
	for i := range 24 {
		pcrs["sha256"][i] = fmt.Sprintf("%064x", i)
		banks[fmt.Sprintf("bank%d", 23-i)] = fmt.Sprint(i)
	}
	for i := range 64 {
		pcrs["sha512"][i] = fmt.Sprint(i)
	}
	out["pcrs"] = &appraisal.Verdict{Status: appraisal.Passed, PCRs: pcrs,
		Components: policy.Components{{Class: "firmware", Name: "FV", PCR: 0, EventIndex: 1, Digests: banks},
			{Class: "kernel", Name: "/boot/vmlinuz", PCR: 4, EventIndex: 9, Digests: banks, Authority: "Debian Secure Boot CA", AuthoritySHA256: "ab", AuthorityInferred: true, Judged: true, Reference: "debian <6.1> sha256:ab"}}}
	for i, s := range awkward {
		out[fmt.Sprintf("awkward %d", i)] = &appraisal.Verdict{Status: appraisal.Status(s), Bank: s,
			Checks:     []appraisal.Check{{Code: s, Message: s, Bank: s, Component: s, Expected: []string{s}, Found: s}},
			SecureBoot: &appraisal.SecureBoot{PK: []string{s}, DBCerts: []appraisal.CertName{{Subject: s, SHA256: s}}, Shim: &appraisal.ShimState{SbatLevel: s, Validation: s}},
			NotJudged:  []appraisal.Measurement{{Type: s, Name: s, SHA256: s, Note: s}}, Components: policy.Components{{Class: s, Name: s, Digests: map[string]string{s: s, s + "x": s}, Authority: s, AuthoritySHA256: s, AuthorityInferred: true, Judged: true, Reference: s}},
			PCRs: map[string]map[int]string{s: {i: s}}, Bundles: []appraisal.Bundle{{Name: s, Version: s, Vendor: s, Acceptance: s, Signature: s}}}
	}
	return out
}

// TestAppendVerdict: the verdict encoder writes encoding/json's bytes, so
// a verdict blob hashes as it did (and deduplicates against blobs stored
// before it).
func TestAppendVerdict(t *testing.T) {
	for name, v := range variedVerdicts() {
		sameJSON(t, "verdict "+name, appendVerdict(nil, v), v)
		for _, clock := range []*appraisal.ClockInfo{nil, {Clock: 42, ResetCount: 1, RestartCount: 2, Safe: true}} {
			ref := verdictRef{VerdictSHA256: strings.Repeat("ab", 32), Clock: clock}
			sameJSON(t, "reference of "+name, appendVerdictRef(nil, ref), ref)
		}
	}
}

// TestSplitVerdict: the stored verdict is the unclocked verdict's blob and
// a reference carrying the clock, as encoding/json wrote them.
func TestSplitVerdict(t *testing.T) {
	vd := variedVerdicts()["full check"]
	vd.Clock = &appraisal.ClockInfo{Clock: 9, Safe: true}
	ref, blob := splitVerdict(vd)
	unclocked := *vd
	unclocked.Clock = nil
	sameJSON(t, "verdict blob", blob.Data, &unclocked)
	sameJSON(t, "verdict reference", ref, verdictRef{VerdictSHA256: newBlob(blob.Data).SHA256, Clock: vd.Clock})
	if vd.Clock == nil {
		t.Error("splitVerdict cleared the caller's clock")
	}
}

func variedEvidence() map[string]*wire.Evidence {
	pcrs := map[string]map[int][]byte{"sha1": {}, "sha256": {}, "sha384": nil, "sm3\"<": {3: nil, 4: {}}}
	for i := range 24 {
		pcrs["sha1"][i] = bytes.Repeat([]byte{byte(i)}, 20)
		pcrs["sha256"][i] = bytes.Repeat([]byte{byte(i)}, 32)
	}
	return map[string]*wire.Evidence{
		"zero":         {},
		"empty nonce":  {Nonce: []byte{}, TPMFamily: wire.FamilyNone, Quotes: []wire.Quote{}, EventLog: []byte{}, Bundles: [][]byte{}, BundlesSHA256: []string{}},
		"slim quotes":  {Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Quotes: []wire.Quote{{}, {Attest: []byte{}, Signature: []byte("s")}}},
		"PCR values":   {Nonce: []byte("n"), TPMFamily: wire.FamilyTPM20, Quotes: []wire.Quote{{Attest: []byte("a"), PCRs: pcrs}, {PCRs: map[string]map[int][]byte{}}}},
		"log, bundles": {Nonce: []byte{0xff, 0}, EventLog: []byte("log"), Bundles: [][]byte{nil, {}, []byte("b")}},
		"by hash":      {Nonce: []byte("n"), EventLogSHA256: "ab<", BundlesSHA256: []string{"", "\xff"}},
		"awkward":      {Nonce: []byte("n"), TPMFamily: awkward[3] + awkward[6]},
	}
}

// TestAppendEvidence: stored evidence, its PCR values' blobs and its blob
// references are written as encoding/json wrote them.
func TestAppendEvidence(t *testing.T) {
	for name, ev := range variedEvidence() {
		sameJSON(t, "evidence "+name, appendEvidence(nil, ev), ev)
		for i := range ev.Quotes {
			sameJSON(t, fmt.Sprintf("%s: quote %d's PCR values", name, i), appendPCRValues(nil, ev.Quotes[i].PCRs), ev.Quotes[i].PCRs)
		}
	}
	for name, r := range map[string]blobRefs{
		"none":        {},
		"log":         {EventLogSHA256: "ab"},
		"no log":      {BundlesSHA256: []string{"a"}, QuotePCRsSHA256: []string{"", "b"}, AKPublic: []byte("ak")},
		"all":         {EventLogSHA256: "ab", BundlesSHA256: []string{"a", "b"}, QuotePCRsSHA256: []string{"c"}, AKPublic: []byte{0}},
		"only the AK": {AKPublic: []byte("ak")},
	} {
		sameJSON(t, "blob references "+name, appendBlobRefs(nil, &r), r)
	}
}

// TestEncodedFields lists the fields of every type the hand-written
// encoders write. A field added to one of them is not written until its
// encoder learns it: this test fails first, asking for that.
func TestEncodedFields(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{appraisal.Verdict{}, "Status:status TrustLevel:trust_level,omitempty Checks:checks Clock:clock,omitempty Bank:bank,omitempty SecureBoot:secure_boot,omitempty Components:components,omitempty PCRs:pcrs,omitempty Bundles:bundles,omitempty NotChecked:not_checked,omitempty NotJudged:not_judged,omitempty"},
		{appraisal.Check{}, "Code:code Passed:passed Message:message Bank:bank,omitempty PCR:pcr,omitempty EventIndex:event_index,omitempty Component:component,omitempty Expected:expected,omitempty Found:found,omitempty"},
		{appraisal.ClockInfo{}, "Clock:clock ResetCount:reset_count RestartCount:restart_count Safe:safe"},
		{appraisal.SecureBoot{}, "Enabled:enabled PK:pk,omitempty KEK:kek,omitempty DB:db,omitempty DBX:dbx Authorities:authorities,omitempty PKCerts:pk_certs,omitempty KEKCerts:kek_certs,omitempty DBCerts:db_certs,omitempty AuthorityCerts:authority_certs,omitempty Shim:shim,omitempty"},
		{appraisal.CertName{}, "Subject:subject SHA256:sha256"},
		{appraisal.ShimState{}, "SbatLevel:sbat_level,omitempty Validation:validation MokLists:mok_lists,omitempty"},
		{appraisal.Measurement{}, "PCR:pcr EventIndex:event_index Type:type Name:name,omitempty NameProven:name_proven SHA256:sha256,omitempty Note:note,omitempty"},
		{appraisal.Bundle{}, "Name:name Version:version Vendor:vendor Acceptance:acceptance Signature:signature"},
		{policy.Component{}, "Class:class Name:name,omitempty PCR:pcr EventIndex:event_index NameProven:name_proven Digests:digests Authority:authority,omitempty AuthoritySHA256:authority_sha256,omitempty AuthorityInferred:authority_inferred,omitempty Judged:judged Reference:reference,omitempty"},
		{verdictRef{}, "VerdictSHA256:verdict_sha256 Clock:clock,omitempty"},
		{wire.Evidence{}, "Nonce:nonce TPMFamily:tpm_family Quotes:quotes,omitempty EventLog:event_log,omitempty EventLogSHA256:event_log_sha256,omitempty Bundles:bundles,omitempty BundlesSHA256:bundles_sha256,omitempty"},
		{wire.Quote{}, "Attest:attest Signature:signature PCRs:pcrs"},
		{blobRefs{}, "EventLogSHA256:event_log_sha256,omitempty BundlesSHA256:bundles_sha256,omitempty QuotePCRsSHA256:quote_pcrs_sha256,omitempty AKPublic:ak_public,omitempty"},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.v)
		var fields []string
		for f := range typ.Fields() {
			fields = append(fields, f.Name+":"+f.Tag.Get("json"))
		}
		if got := strings.Join(fields, " "); got != tt.want {
			t.Errorf("%s's fields changed: update its encoder in verdictjson.go or evidencejson.go, then this test\n got %s\nwant %s",
				typ, got, tt.want)
		}
	}
}

// FuzzRecordJSON compares the hand-written encoders with encoding/json on
// verdicts and evidence decoded from arbitrary JSON, with an arbitrary
// string (invalid UTF-8 included, which decoded JSON never holds) and
// number put where the encoders write strings and map keys.
func FuzzRecordJSON(f *testing.F) {
	for _, v := range variedVerdicts() {
		b, _ := json.Marshal(v)
		f.Add(b, "s", 1)
	}
	for _, ev := range variedEvidence() {
		b, _ := json.Marshal(ev)
		f.Add(b, "\xff<", -7)
	}
	f.Fuzz(func(t *testing.T, data []byte, s string, n int) {
		var v appraisal.Verdict
		if json.Unmarshal(data, &v) == nil {
			sameJSON(t, "decoded verdict", appendVerdict(nil, &v), &v)
			v.Status, v.Bank = appraisal.Status(s), s
			v.Checks = append(v.Checks, appraisal.Check{Code: s, Message: s, PCR: &n, Expected: []string{s}})
			v.Components = append(v.Components, policy.Component{Name: s, PCR: n, Digests: map[string]string{s: s}})
			v.PCRs = map[string]map[int]string{s: {n: s, n / 2: s}}
			sameJSON(t, "verdict", appendVerdict(nil, &v), &v)
		}
		var ev wire.Evidence
		if json.Unmarshal(data, &ev) == nil {
			sameJSON(t, "decoded evidence", appendEvidence(nil, &ev), &ev)
			ev.TPMFamily, ev.EventLogSHA256 = s, s
			ev.Quotes = append(ev.Quotes, wire.Quote{Attest: []byte(s), PCRs: map[string]map[int][]byte{s: {n: []byte(s)}}})
			sameJSON(t, "evidence", appendEvidence(nil, &ev), &ev)
			refs := blobRefs{EventLogSHA256: s, QuotePCRsSHA256: ev.BundlesSHA256, AKPublic: ev.Nonce}
			sameJSON(t, "blob references", appendBlobRefs(nil, &refs), refs)
		}
	})
}
