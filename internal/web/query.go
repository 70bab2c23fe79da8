package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fleet view URL parameters. Every link the fleet page makes carries the
// current filter in these, so a link can be bookmarked or shared.
const (
	paramStatus = "status"
	paramGroup  = "group"
	paramSearch = "q"
	paramSort   = "sort"
	paramOrder  = "order" // "desc" or absent
	paramPage   = "page"
	paramSize   = "size"
)

// Bounds on what a URL may ask for.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	maxPage         = 1_000_000
	maxFilterLen    = 256
)

// ParseFleetQuery reads a fleet query from URL parameters. Absent
// parameters take their defaults (status order, page 1, DefaultPageSize);
// a parameter with a value it cannot be gets an error naming it.
func ParseFleetQuery(v url.Values) (FleetQuery, error) {
	q := FleetQuery{Sort: SortStatus, Page: 1, PageSize: DefaultPageSize}
	if s := v.Get(paramStatus); s != "" {
		st, ok := canonicalStatus(s)
		if !ok {
			return FleetQuery{}, fmt.Errorf("query parameter %q: unknown status %q (want one of %s)",
				paramStatus, clip(s), strings.Join(Statuses, ", "))
		}
		q.Status = st
	}
	var err error
	if q.Group, err = textParam(v, paramGroup); err != nil {
		return FleetQuery{}, err
	}
	if q.Search, err = textParam(v, paramSearch); err != nil {
		return FleetQuery{}, err
	}
	q.Search = strings.TrimSpace(q.Search)
	if s := v.Get(paramSort); s != "" {
		if !isSortColumn(s) {
			return FleetQuery{}, fmt.Errorf("query parameter %q: unknown column %q (want one of %s)",
				paramSort, clip(s), strings.Join(SortColumns, ", "))
		}
		q.Sort = s
	}
	switch o := v.Get(paramOrder); o {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return FleetQuery{}, fmt.Errorf("query parameter %q: %q is neither asc nor desc", paramOrder, clip(o))
	}
	if q.Page, err = intParam(v, paramPage, 1, 1, maxPage); err != nil {
		return FleetQuery{}, err
	}
	if q.PageSize, err = intParam(v, paramSize, DefaultPageSize, 1, MaxPageSize); err != nil {
		return FleetQuery{}, err
	}
	return q, nil
}

// Values is the inverse of ParseFleetQuery: the URL parameters of q, with
// defaults left out so that links stay short.
func (q FleetQuery) Values() url.Values {
	v := url.Values{}
	if q.Status != "" {
		v.Set(paramStatus, q.Status)
	}
	if q.Group != "" {
		v.Set(paramGroup, q.Group)
	}
	if q.Search != "" {
		v.Set(paramSearch, q.Search)
	}
	if q.Sort != "" && q.Sort != SortStatus {
		v.Set(paramSort, q.Sort)
	}
	if q.Desc {
		v.Set(paramOrder, "desc")
	}
	if q.Page > 1 {
		v.Set(paramPage, strconv.Itoa(q.Page))
	}
	if q.PageSize != 0 && q.PageSize != DefaultPageSize {
		v.Set(paramSize, strconv.Itoa(q.PageSize))
	}
	return v
}

// href is path with q's parameters.
func (q FleetQuery) href(path string) string {
	if enc := q.Values().Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

func canonicalStatus(s string) (string, bool) {
	for _, st := range Statuses {
		if strings.EqualFold(s, st) {
			return st, true
		}
	}
	return "", false
}

func isSortColumn(s string) bool {
	for _, c := range SortColumns {
		if s == c {
			return true
		}
	}
	return false
}

func textParam(v url.Values, name string) (string, error) {
	s := v.Get(name)
	if len(s) > maxFilterLen {
		return "", fmt.Errorf("query parameter %q: %d bytes, longer than the limit of %d", name, len(s), maxFilterLen)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("query parameter %q: not valid UTF-8", name)
	}
	return s, nil
}

func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("query parameter %q: %q is not a whole number from %d to %d", name, clip(s), lo, hi)
	}
	return n, nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
