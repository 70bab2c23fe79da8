package api

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/csvsafe"
	"github.com/bootproof/bootproof/internal/store"
)

// report exports the hosts of the current filter as JSON or CSV, with
// every failing reason of each host's latest verdict.
func (s *server) report(w http.ResponseWriter, r *http.Request) error {
	hq, err := hostQuery(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return errorf(http.StatusBadRequest, "bad_parameter", "format must be json or csv")
	}
	hosts, _, err := s.v.Store().ListHosts(r.Context(), hq)
	if err != nil {
		return err
	}
	rows := make([]ReportRow, 0, len(hosts))
	for _, h := range hosts {
		rows = append(rows, s.reportRow(r, h))
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="bootproof-report.csv"`)
		return WriteCSV(w, rows)
	}
	writeJSON(w, http.StatusOK, Report{GeneratedAt: time.Now().UTC(), Hosts: rows})
	return nil
}

func (s *server) reportRow(r *http.Request, h store.Host) ReportRow {
	row := ReportRow{Name: h.Name, Group: h.Group, TPMFamily: h.TPMFamily, Status: h.Status, StatusSince: h.StatusSince,
		LastAttested: h.LastAttested, ReasonCode: h.ReasonCode, Reason: h.Reason, Reasons: []string{}, ReasonCodes: []string{},
		Staleness: StalenessOf(s.v.Staleness(r.Context(), h)), TrustLevel: s.v.TrustLevel(r.Context(), h)}
	switch h.Status {
	case store.StatusFailed:
		if vd, _, err := s.v.LatestVerdict(r.Context(), h.Name); err == nil {
			for _, c := range vd.Failures() {
				row.Reasons = append(row.Reasons, c.Message)
				row.ReasonCodes = append(row.ReasonCodes, c.Code)
			}
		}
	}
	if len(row.Reasons) == 0 && h.Reason != "" {
		row.Reasons, row.ReasonCodes = []string{h.Reason}, []string{h.ReasonCode}
	}
	return row
}

// WriteCSV writes report rows as CSV with a header line, every cell
// defused for spreadsheets (package csvsafe): the headline (reason_code,
// reason) first, then every failed check joined by "; ".
func WriteCSV(w io.Writer, rows []ReportRow) error {
	cw := csvsafe.NewWriter(w)
	_ = cw.Write([]string{"name", "group", "tpm_family", "status", "status_since", "last_attested", "reason_code", "reason", "reason_codes", "reasons", "trust_level"})
	for _, r := range rows {
		last := ""
		if r.LastAttested != nil {
			last = r.LastAttested.UTC().Format(time.RFC3339)
		}
		_ = cw.Write([]string{r.Name, r.Group, r.TPMFamily, r.Status, r.StatusSince.UTC().Format(time.RFC3339), last,
			r.ReasonCode, r.Reason, strings.Join(r.ReasonCodes, "; "), strings.Join(r.Reasons, "; "), r.TrustLevel})
	}
	cw.Flush()
	return cw.Error()
}
