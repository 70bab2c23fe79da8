package api_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
)

// appraisalFillsWhatBooted is set once the appraisal fills the fields of
// issue 20 (policy.Component.Judged/Reference, Verdict.NotJudged,
// SecureBoot.*Certs): their assertions below then run.
const appraisalFillsWhatBooted = true

// TestHostDetailSaysWhatBooted reads GET /api/v1/hosts/{name} of an
// emulated host that booted and passed, decoded into the API's own types,
// and finds in its verdict what the host page and `hosts show` show: the
// components with digests, the Secure Boot state and its certificates.
func TestHostDetailSaysWhatBooted(t *testing.T) {
	if testing.Short() {
		t.Skip("api: boots an emulated host; skipped with -short")
	}
	f := &fixture{env: servertest.Start(t)}
	f.client = f.env.HTTPClient()
	f.trustEmulatedVendors(t, "lab")
	state := filepath.Join(t.TempDir(), hostA)
	f.runHost(t, hostA, state, 0, "")
	var h api.HostDetail
	f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA, auth.Viewer, "", http.StatusOK, &h)
	v := h.Verdict
	if v == nil || v.Status != "Passed" {
		t.Fatalf("%s: verdict %+v, want Passed", hostA, v)
	}
	byClass := map[string]policy.Component{}
	for _, c := range v.Components {
		if len(c.Digests["sha256"]) != 64 {
			t.Errorf("component %s %q at PCR %d event %d has no SHA-256 digest: %v", c.Class, c.Name, c.PCR, c.EventIndex, c.Digests)
		}
		byClass[c.Class] = c
	}
	for _, class := range []string{policy.ClassFirmware, policy.ClassBootloader, policy.ClassKernel, policy.ClassBootOptions} {
		if _, ok := byClass[class]; !ok {
			t.Errorf("no %s among the components %+v", class, v.Components)
		}
	}
	sb := v.SecureBoot
	if sb == nil || !sb.Enabled || len(sb.PK) == 0 || len(sb.KEK) == 0 || len(sb.DB) == 0 {
		t.Fatalf("secure_boot = %+v, want on with PK, KEK and db", sb)
	}
	for _, c := range v.Components {
		if c.Judged || c.Reference != "" {
			t.Errorf("%s %q judged (reference %q) by a policy without reference values", c.Class, c.Name, c.Reference)
		}
	}
	// Take this boot as the reference and attest again: now the kernel is
	// judged and names the entry it matched.
	f.mustJSON(t, "POST", "/api/v1/groups/lab/learn", auth.Operator, `{"host":"`+hostA+`"}`, http.StatusOK, nil)
	f.runHost(t, hostA, state, 0, "")
	f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA, auth.Viewer, "", http.StatusOK, &h)
	if h.Verdict == nil || h.Verdict.Status != "Passed" {
		t.Fatalf("%s after learning its boot: verdict %+v, want Passed", hostA, h.Verdict)
	}
	if !appraisalFillsWhatBooted {
		t.Log("judged, reference, not_judged and *_certs are not filled by the appraisal yet: their assertions are off")
		return
	}
	for _, c := range h.Verdict.Components.Class(policy.ClassKernel) {
		if !c.Judged || c.Reference == "" {
			t.Errorf("kernel after learning = %+v, want judged and matching a reference", c)
		}
	}
	if len(v.NotJudged) == 0 {
		t.Errorf("not_judged is empty; the emulated boot measures events no rule judges (PCR 1 configuration)")
	}
	if len(sb.DBCerts) != len(sb.DB) || sb.DBCerts[0].Subject == "" || sb.DBCerts[0].SHA256 != sb.DB[0] {
		t.Errorf("db_certs = %+v, want db %v by subject", sb.DBCerts, sb.DB)
	}
}
