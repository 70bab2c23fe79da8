package web

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// Views are what templates render: every link, label and time is worked
// out here in Go, where it is tested, and templates only place them.

// pageView is what every page's layout needs.
type pageView struct {
	Title     string
	User      string // "" when nobody is signed in
	CSRF      string
	CanSignIn bool   // anonymous in demo mode: offer the sign-in link
	AssetTag  string // appended to static URLs so browsers refetch after an upgrade
	Now       timeView
	// StoreProblem, when set, is why the data shown may be old ("the
	// verifier cannot write its store"); DataAsOf is its last write.
	StoreProblem string
	DataAsOf     timeView
}

// timeView is one instant as the report shows it: UTC RFC 3339 for
// machines and auditors, and "5 min ago" for people.
type timeView struct {
	ISO string // RFC 3339, UTC, for the datetime attribute and exports
	Rel string // "5 min ago"
}

func newTimeView(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{}
	}
	return timeView{ISO: t.UTC().Format(time.RFC3339), Rel: relative(now.Sub(t))}
}

// relative says how long ago d was, in the largest unit that fits.
func relative(d time.Duration) string {
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 10*time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// statusShown is how a host's status is shown: its badge, the badge's CSS
// class and the reason. A stale host (HostRow.StaleSince) shows "Stale"
// and its last recorded status in the reason, never its old Passed as if
// it were current.
func statusShown(h HostRow, now time.Time) (badge, class, reason string) {
	if h.StaleSince.IsZero() {
		return statusBadge(h), statusClass(h.Status), h.Reason
	}
	reason = fmt.Sprintf("No evidence recorded since the group's limit ran out %s; last recorded status %s.",
		relative(now.Sub(h.StaleSince)), h.Status)
	if h.Reason != "" {
		reason += " " + h.Reason
	}
	return "Stale", "st-stale", reason
}

// SecureBootOnlyBadge is the badge of a Passed host whose group constrains
// no component: any boot Secure Boot let run passes there.
const SecureBootOnlyBadge = "Passed (Secure Boot only: no reference values)"

// statusBadge is the status as the badge says it: a Passed host at trust
// level secure_boot_only says it passed on Secure Boot alone.
func statusBadge(h HostRow) string {
	if h.Status == StatusPassed && h.TrustLevel == "secure_boot_only" {
		return SecureBootOnlyBadge
	}
	return h.Status
}

// statusClass is the CSS class of a status badge. Colour only repeats what
// the badge's text says.
func statusClass(status string) string {
	switch status {
	case StatusPassed:
		return "st-passed"
	case StatusFailed:
		return "st-failed"
	case StatusNA:
		return "st-na"
	case StatusUnreachable:
		return "st-unreachable"
	case StatusPending:
		return "st-pending"
	}
	return "st-unknown"
}

func hostHref(name string) string { return "/hosts/" + url.PathEscape(name) }

// fleetView is the fleet page.
type fleetView struct {
	pageView
	Query      FleetQuery
	Counts     []countView
	FleetTotal int
	Statuses   []optionView
	Groups     []optionView
	Columns    []columnView
	Rows       []rowView
	Total      int
	First      int // 1-based index of the first row shown
	Last       int
	Pager      pagerView
	ExportCSV  string
	ExportJSON string
	ClearHref  string
	Filtered   bool
	Latest     string // LatestChange as RFC 3339 with nanoseconds, for the live update script
	PollMillis int64
}

type countView struct {
	Status string
	N      int
	Class  string
	Href   string
	Active bool
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type columnView struct {
	Label    string
	Href     string // sorts by this column; toggles the order when it is the current one
	AriaSort string // "ascending", "descending" or "" (not sorted by this column)
}

type rowView struct {
	HostRow
	Href      string
	Badge     string // the status as shown: Status, or "Stale"
	Class     string
	SinceT    timeView
	AttestedT timeView
	Placement string // "allow" or "deny"
}

type pagerView struct {
	Page, Pages         int
	PrevHref, NextHref  string
	FirstHref, LastHref string
}

var columnLabels = map[string]string{
	SortName: "Host", SortGroup: "Group", SortTPM: "TPM", SortStatus: "Status",
	SortSince: "Since", SortAttested: "Last attested", SortReason: "Reason", SortPlacement: "Placement",
}

func newFleetView(pv pageView, q FleetQuery, fp FleetPage, latest, now time.Time) fleetView {
	v := fleetView{pageView: pv, Query: q, Total: fp.Total}
	countQ := q
	countQ.Status, countQ.Page = "", 1
	for _, st := range Statuses {
		cq := countQ
		cq.Status = st
		if q.Status == st {
			cq.Status = "" // a second click on the active count clears it
		}
		n := fp.Counts[st]
		v.FleetTotal += n
		v.Counts = append(v.Counts, countView{Status: st, N: n, Class: statusClass(st), Href: cq.href("/"), Active: q.Status == st})
		v.Statuses = append(v.Statuses, optionView{Value: st, Label: st, Selected: q.Status == st})
	}
	groups := append([]string(nil), fp.Groups...)
	sort.Strings(groups)
	for _, g := range groups {
		v.Groups = append(v.Groups, optionView{Value: g, Label: g, Selected: q.Group == g})
	}
	for _, c := range SortColumns {
		cq := q
		cq.Sort, cq.Desc, cq.Page = c, false, 1
		col := columnView{Label: columnLabels[c]}
		if q.Sort == c {
			cq.Desc = !q.Desc
			col.AriaSort = "ascending"
			if q.Desc {
				col.AriaSort = "descending"
			}
		}
		col.Href = cq.href("/")
		v.Columns = append(v.Columns, col)
	}
	v.Rows = make([]rowView, len(fp.Rows))
	for i, h := range fp.Rows {
		r := rowView{HostRow: h, Href: hostHref(h.Name), SinceT: newTimeView(h.Since, now), Placement: "deny"}
		r.Badge, r.Class, r.Reason = statusShown(h, now)
		if h.LastAttested != nil {
			r.AttestedT = newTimeView(*h.LastAttested, now)
		}
		if h.PlacementAllowed {
			r.Placement = "allow"
		}
		v.Rows[i] = r
	}
	pages := 1
	if q.PageSize > 0 && fp.Total > 0 {
		pages = (fp.Total + q.PageSize - 1) / q.PageSize
	}
	v.Pager = pagerView{Page: q.Page, Pages: pages}
	at := func(p int) string { pq := q; pq.Page = p; return pq.href("/") }
	if q.Page > 1 {
		v.Pager.FirstHref, v.Pager.PrevHref = at(1), at(min(q.Page-1, pages))
	}
	if q.Page < pages {
		v.Pager.NextHref, v.Pager.LastHref = at(q.Page+1), at(pages)
	}
	if len(fp.Rows) > 0 {
		v.First = (q.Page-1)*q.PageSize + 1
		v.Last = v.First + len(fp.Rows) - 1
	}
	eq := q
	eq.Page, eq.PageSize = 0, 0
	v.ExportCSV, v.ExportJSON = eq.href("/export.csv"), eq.href("/export.json")
	v.Filtered = q.Status != "" || q.Group != "" || q.Search != ""
	clr := FleetQuery{Sort: q.Sort, Desc: q.Desc, PageSize: q.PageSize}
	v.ClearHref = clr.href("/")
	if !latest.IsZero() {
		v.Latest = latest.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// hostView is the host page.
type hostView struct {
	pageView
	HostDetail
	Badge      string // as rowView's
	Class      string
	Placement  string
	SinceT     timeView
	AttestedT  timeView
	Failures   []checkView // failed checks, with their evidence, shown first
	Booted     bootedView
	Checks     []checkView
	Banks      []bankView
	History    []historyView
	CanAct     bool   // the Principal may press the buttons
	HasActions bool   // the verifier offers them
	Href       string // this page, for form actions
	Flash      string // result of the last action
	FlashError bool
}

type checkView struct {
	Check
	ID          string // the failure's anchor in "What differs"; "" for a passed check
	Outcome     string // "Passed" or "Failed"
	Class       string
	HasEvidence bool // there is something to put side by side
	PCRText     string
	EventText   string
}

type bankView struct {
	Bank string
	PCRs []pcrView
}

type pcrView struct {
	Index int
	Value string
}

type historyView struct {
	HistoryEntry
	AtT   timeView
	Class string
}

func newHostView(pv pageView, h HostDetail, now time.Time) hostView {
	v := hostView{pageView: pv, HostDetail: h, Placement: "deny", SinceT: newTimeView(h.Since, now), Href: hostHref(h.Name)}
	v.Badge, v.Class, v.Reason = statusShown(h.HostRow, now)
	if h.PlacementAllowed {
		v.Placement = "allow"
	}
	if h.LastAttested != nil {
		v.AttestedT = newTimeView(*h.LastAttested, now)
	}
	for _, c := range h.Checks {
		cv := checkView{Check: c, Outcome: "Passed", Class: "st-passed", PCRText: "n/a", EventText: "n/a"}
		if !c.Passed {
			cv.Outcome, cv.Class = "Failed", "st-failed"
		}
		if c.PCR >= 0 {
			cv.PCRText = strconv.Itoa(c.PCR)
		}
		if c.EventIndex >= 0 {
			cv.EventText = strconv.Itoa(c.EventIndex)
		}
		cv.HasEvidence = c.Expected != "" || c.Found != "" || c.Component != "" || c.PCR >= 0 || c.EventIndex >= 0
		v.Checks = append(v.Checks, cv)
		if !c.Passed {
			v.Failures = append(v.Failures, cv)
		}
	}
	headlineFirst(v.Failures, h.ReasonCode, h.Reason)
	for i := range v.Failures {
		v.Failures[i].ID = "failure-" + strconv.Itoa(i+1)
	}
	v.Booted = newBootedView(h, v.Failures)
	banks := make([]string, 0, len(h.PCRs))
	for b := range h.PCRs {
		banks = append(banks, b)
	}
	sort.Strings(banks)
	for _, b := range banks {
		bv := bankView{Bank: b}
		for i, val := range h.PCRs[b] {
			bv.PCRs = append(bv.PCRs, pcrView{Index: i, Value: val})
		}
		sort.Slice(bv.PCRs, func(i, j int) bool { return bv.PCRs[i].Index < bv.PCRs[j].Index })
		v.Banks = append(v.Banks, bv)
	}
	hist := append([]HistoryEntry(nil), h.History...)
	sort.SliceStable(hist, func(i, j int) bool { return hist[i].At.After(hist[j].At) })
	for _, e := range hist {
		v.History = append(v.History, historyView{HistoryEntry: e, AtT: newTimeView(e.At, now), Class: statusClass(e.To)})
	}
	return v
}

// errorView is an error page.
type errorView struct {
	pageView
	Code    int
	Message string
}

// signInView is the sign-in page.
type signInView struct {
	pageView
	Next  string
	Error string
}

// headlineFirst moves the failure that is the host's stored headline to
// the front of failures, keeping the others in the appraisal's order: the
// page shows the reason every surface shows first, then the rest.
func headlineFirst(failures []checkView, code, reason string) {
	for i, f := range failures {
		if f.Code == code && f.Message == reason {
			copy(failures[1:i+1], failures[:i])
			failures[0] = f
			return
		}
	}
}
