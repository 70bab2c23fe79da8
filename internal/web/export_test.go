package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExportCSV(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(t, viewerToken)
	r := e.get(t, c, "/export.csv?status=Failed&sort=name")
	if r.code != 200 {
		t.Fatalf("GET /export.csv: status %d; body:\n%s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="bootproof-hosts-20260115T120000Z.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, r.body)
	}
	want := [][]string{
		csvHeader,
		{hostileName, `"><img src=x onerror=alert(2)>`, "2.0", "Failed", "2026-01-15T11:00:00Z", "2026-01-15T11:00:00Z",
			`'=HYPERLINK("http://evil.example/","click") <b>bold</b>`, "deny", "status is Failed", ""},
		{"esx-02", "prod-a", "2.0", "Failed", "2026-01-15T11:40:00Z", "2026-01-15T11:58:00Z",
			"The kernel's digest is not in the group's reference values.", "deny", "status is Failed", "reference.kernel_mismatch"},
		{"kvm-06", "lab", "2.0", "Failed", "2026-01-15T06:00:00Z", "2026-01-15T11:50:00Z", "Secure Boot was off.", "deny", "status is Failed", "secureboot.disabled"},
	}
	if diff := cmp.Diff(want, records); diff != "" {
		t.Errorf("CSV export (-want +got):\n%s", diff)
	}
}

func TestExportJSON(t *testing.T) {
	e := newTestEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/export.json?group=prod-b&sort=name", nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	r := do(t, e.client(t), req)
	if r.code != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /export.json: %d %q; body:\n%s", r.code, r.header.Get("Content-Type"), r.body)
	}
	var got struct {
		GeneratedAt string       `json:"generated_at"`
		Filter      ExportFilter `json:"filter"`
		Total       int          `json:"total"`
		Hosts       []ExportHost `json:"hosts"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("export is not the documented JSON: %v\n%s", err, r.body)
	}
	att := "2026-01-15T09:30:00Z"
	want := struct {
		GeneratedAt string       `json:"generated_at"`
		Filter      ExportFilter `json:"filter"`
		Total       int          `json:"total"`
		Hosts       []ExportHost `json:"hosts"`
	}{
		GeneratedAt: "2026-01-15T12:00:00Z",
		Filter:      ExportFilter{Group: "prod-b", Sort: "name"},
		Total:       2,
		Hosts: []ExportHost{
			{Name: "esx-03", Group: "prod-b", TPMFamily: "1.2", Status: "N/A", Since: "2026-01-10T10:00:00Z",
				Reason: "The host has a TPM 1.2; it cannot attest.", Placement: "deny", PlacementReason: "status is N/A"},
			{Name: "esx-04", Group: "prod-b", TPMFamily: "2.0", Status: "Unreachable", Since: "2026-01-15T10:00:00Z", LastAttested: &att,
				Reason: "The host missed 3 attestations (interval 10 min).", Placement: "deny", PlacementReason: "status is Unreachable"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON export (-want +got):\n%s", diff)
	}
}

// An export holds every matching host, not just one page, and reads the
// source a page at a time.
func TestExportAllPages(t *testing.T) {
	e := newTestEnv(t)
	e.src.hosts = bigFleet(2500, e.now)
	c := e.signedIn(t, viewerToken)
	r := e.get(t, c, "/export.csv?status=Failed&size=10&page=3")
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	wantFailed := 0
	for _, h := range e.src.hosts {
		if h.Status == StatusFailed {
			wantFailed++
		}
	}
	if got := len(records) - 1; got != wantFailed {
		t.Errorf("CSV export has %d hosts, want all %d failed hosts", got, wantFailed)
	}
	var pages []int
	for _, q := range e.src.queries {
		pages = append(pages, q.Page)
		if q.PageSize != exportPageSize || q.Status != StatusFailed {
			t.Errorf("export asked the source for %+v", q)
		}
	}
	if diff := cmp.Diff([]int{1}, pages[:1]); diff != "" || len(pages) != (wantFailed+exportPageSize-1)/exportPageSize {
		t.Errorf("export read pages %v for %d hosts", pages, wantFailed)
	}
}

func TestExportBadQuery(t *testing.T) {
	e := newTestEnv(t)
	r := e.get(t, e.signedIn(t, viewerToken), "/export.json?sort=nope")
	if r.code != 400 || !strings.Contains(r.body, `query parameter "sort": unknown column "nope"`) {
		t.Errorf("GET /export.json?sort=nope: %d %q", r.code, r.body)
	}
}

// bigFleet makes n hosts of mixed statuses in a dozen groups, as a
// verifier's fleet might look.
func bigFleet(n int, now time.Time) []HostDetail {
	hosts := make([]HostDetail, n)
	for i := range hosts {
		st := StatusPassed
		reason := ""
		switch i % 20 {
		case 1, 7:
			st, reason = StatusFailed, "The kernel's digest is not in the group's reference values."
		case 3:
			st, reason = StatusNA, "The host has a TPM 1.2; it cannot attest."
		case 5:
			st, reason = StatusUnreachable, "The host missed 3 attestations (interval 10 min)."
		case 9:
			st, reason = StatusPending, "Enrolled, not yet attested."
		}
		att := now.Add(-time.Duration(i%600) * time.Second)
		hosts[i] = HostDetail{HostRow: HostRow{
			Name: fmt.Sprintf("host-%05d.dc%d.example.net", i, i%3), Group: fmt.Sprintf("cluster-%02d", i%12),
			TPMFamily: "2.0", Status: st, Since: now.Add(-time.Duration(i) * time.Minute), LastAttested: &att,
			Reason: reason, PlacementAllowed: st == StatusPassed, PlacementReason: "status is " + st,
		}}
	}
	return hosts
}
