package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/bootproof/bootproof/internal/csvsafe"
)

// Exports hold every host matching the current filter, in the current
// order, over all pages. They read the Source a page at a time so that a
// large fleet is streamed and not held in memory.
const (
	exportPageSize = 1000
	exportMaxRows  = 10_000_000 // stops a Source that never runs out of pages
)

// ExportHost is one host in the JSON export. Field names are a contract
// with scripts that read the export; add fields, never rename.
type ExportHost struct {
	Name            string  `json:"name"`
	Group           string  `json:"group"`
	TPMFamily       string  `json:"tpm_family"`
	Status          string  `json:"status"`
	Since           string  `json:"since"`                   // RFC 3339, UTC
	LastAttested    *string `json:"last_attested,omitempty"` // RFC 3339, UTC; absent when never
	Reason          string  `json:"reason"`
	Placement       string  `json:"placement"` // "allow" or "deny"
	PlacementReason string  `json:"placement_reason"`
	ReasonCode      string  `json:"reason_code"` // the code of Reason, the host's headline
}

// ExportFilter is the filter an export was made with.
type ExportFilter struct {
	Status string `json:"status,omitempty"`
	Group  string `json:"group,omitempty"`
	Search string `json:"search,omitempty"`
	Sort   string `json:"sort"`
	Desc   bool   `json:"desc,omitempty"`
}

// csvHeader names the CSV columns, in the order of ExportHost's fields.
var csvHeader = []string{"name", "group", "tpm_family", "status", "since", "last_attested", "reason", "placement", "placement_reason", "reason_code"}

func exportHost(h HostRow) ExportHost {
	e := ExportHost{Name: h.Name, Group: h.Group, TPMFamily: h.TPMFamily, Status: h.Status,
		Reason: h.Reason, ReasonCode: h.ReasonCode, Placement: "deny", PlacementReason: h.PlacementReason}
	if !h.Since.IsZero() {
		e.Since = h.Since.UTC().Format(time.RFC3339)
	}
	if h.LastAttested != nil {
		s := h.LastAttested.UTC().Format(time.RFC3339)
		e.LastAttested = &s
	}
	if h.PlacementAllowed {
		e.Placement = "allow"
	}
	return e
}

// eachExportRow calls fn for every host matching q, first page first.
// first is the Source's first page, already read by the caller so that an
// early error can still become an error status.
func (h *handler) eachExportRow(r *http.Request, q FleetQuery, first FleetPage, fn func(HostRow) error) error {
	fp, seen := first, 0
	for {
		for _, row := range fp.Rows {
			if err := fn(row); err != nil {
				return err
			}
		}
		seen += len(fp.Rows)
		if len(fp.Rows) < q.PageSize || seen >= fp.Total || seen >= exportMaxRows {
			return nil
		}
		q.Page++
		var err error
		if fp, err = h.cfg.Source.Fleet(r.Context(), q); err != nil {
			return fmt.Errorf("read fleet page %d for export: %w", q.Page, err)
		}
	}
}

// startExport parses the filter and reads the first page.
func (h *handler) startExport(r *http.Request) (FleetQuery, FleetPage, error) {
	q, err := ParseFleetQuery(r.URL.Query())
	if err != nil {
		return q, FleetPage{}, badRequest(err)
	}
	q.Page, q.PageSize = 1, exportPageSize
	fp, err := h.cfg.Source.Fleet(r.Context(), q)
	if err != nil {
		return q, fp, fmt.Errorf("read fleet for export: %w", err)
	}
	return q, fp, nil
}

func (h *handler) exportName(ext string) string {
	return "bootproof-hosts-" + h.now().UTC().Format("20060102T150405Z") + "." + ext
}

func (h *handler) exportCSV(w http.ResponseWriter, r *http.Request, s session) error {
	q, first, err := h.startExport(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+h.exportName("csv")+`"`)
	cw := csvsafe.NewWriter(w)
	cw.Write(csvHeader)
	err = h.eachExportRow(r, q, first, func(row HostRow) error {
		e := exportHost(row)
		la := ""
		if e.LastAttested != nil {
			la = *e.LastAttested
		}
		return cw.Write([]string{e.Name, e.Group, e.TPMFamily, e.Status, e.Since, la, e.Reason, e.Placement, e.PlacementReason, e.ReasonCode})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The status line is gone; the log and a truncated file say it.
		h.log.Error("export csv", "err", err)
	}
	return nil
}

func (h *handler) exportJSON(w http.ResponseWriter, r *http.Request, s session) error {
	q, first, err := h.startExport(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+h.exportName("json")+`"`)
	bw := bufio.NewWriter(w)
	head, _ := json.Marshal(struct {
		GeneratedAt string       `json:"generated_at"`
		Filter      ExportFilter `json:"filter"`
		Total       int          `json:"total"`
	}{h.now().UTC().Format(time.RFC3339), ExportFilter{q.Status, q.Group, q.Search, q.Sort, q.Desc}, first.Total})
	// The document is {"generated_at":...,"filter":...,"total":N,"hosts":[...]},
	// written as it streams.
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"hosts":[`)
	n := 0
	enc := json.NewEncoder(bw)
	err = h.eachExportRow(r, q, first, func(row HostRow) error {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		return enc.Encode(exportHost(row))
	})
	bw.WriteString("]}\n")
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		h.log.Error("export json", "err", err)
	}
	return nil
}
