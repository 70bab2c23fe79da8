package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/web"
)

// registerReport mounts the security report (package web) over the verifier.
func registerReport(mux *http.ServeMux, s *Server, a *auth.Authenticator) {
	src := &reportSource{s: s}
	err := web.Register(mux, web.Config{Source: src, Actions: src, Auth: reportAuth{a}, Store: src.storeState,
		AuthDisabled: s.cfg.ReportAuthDisabled, Log: s.log.With("subsystem", "web")})
	if err != nil {
		s.log.Error("security report disabled", "err", err)
	}
}

type reportAuth struct{ a *auth.Authenticator }

func (r reportAuth) Authenticate(ctx context.Context, token string) (web.Principal, error) {
	p, err := r.a.Authenticate(ctx, token)
	if auth.IsUnavailable(err) {
		// The token may be valid: the report answers 503 and keeps the
		// browser signed in, where "invalid" would sign it out.
		return web.Principal{}, fmt.Errorf("%w: %w", web.ErrUnavailable, err)
	}
	if err != nil {
		return web.Principal{}, fmt.Errorf("%w: %v", web.ErrInvalidToken, err)
	}
	return web.Principal{Name: p.Name, Role: p.Role.String()}, nil
}

// reportSource answers the report from the store and the verifier.
type reportSource struct{ s *Server }

var storeSort = map[string]string{web.SortName: "name", web.SortGroup: "group", web.SortTPM: "tpm_family",
	web.SortSince: "status_since", web.SortAttested: "last_attested", web.SortReason: "reason_code"}

func (r *reportSource) Fleet(ctx context.Context, q web.FleetQuery) (web.FleetPage, error) {
	st := r.s.Store
	var page web.FleetPage
	groups, err := st.ListGroups(ctx)
	if err != nil {
		return page, err
	}
	for _, g := range groups {
		page.Groups = append(page.Groups, g.Name)
	}
	if q.Search == "" {
		page.Counts, err = st.CountByStatus(ctx, q.Group)
		if err != nil {
			return page, err
		}
	}
	hq := store.HostQuery{Status: q.Status, Group: q.Group, Search: q.Search}
	col, inStore := storeSort[q.Sort]
	if q.Sort == "" {
		q.Sort = web.SortStatus
	}
	if inStore && q.Search == "" {
		hq.Sort, hq.Desc, hq.Limit, hq.Offset = col, q.Desc, q.PageSize, (q.Page-1)*q.PageSize
		hosts, total, err := st.ListHosts(ctx, hq)
		if err != nil {
			return page, err
		}
		page.Total = total
		page.Rows = r.rows(ctx, hosts)
		return page, nil
	}
	if q.Sort == web.SortStatus && q.Search == "" {
		return r.fleetByStatus(ctx, q, page)
	}
	// Sorts the store cannot do (placement) and counts under a search: read
	// the matching hosts and work in memory.
	all, _, err := st.ListHosts(ctx, store.HostQuery{Group: q.Group, Search: q.Search, Sort: col})
	if err != nil {
		return page, err
	}
	if page.Counts == nil {
		page.Counts = map[string]int{}
		for _, h := range all {
			page.Counts[h.Status]++
		}
	}
	var match []store.Host
	for _, h := range all {
		if q.Status == "" || h.Status == q.Status {
			match = append(match, h)
		}
	}
	page.Total = len(match)
	rows := r.rows(ctx, match)
	sortRows(rows, q.Sort, q.Desc)
	lo := min(max((q.Page-1)*q.PageSize, 0), len(rows))
	hi := min(lo+q.PageSize, len(rows))
	page.Rows = rows[lo:hi]
	return page, nil
}

// fleetByStatus pages through the fleet sorted by urgency (Failed first)
// with one indexed query per status the page touches, so the default view
// costs the same for ten hosts or a hundred thousand.
func (r *reportSource) fleetByStatus(ctx context.Context, q web.FleetQuery, page web.FleetPage) (web.FleetPage, error) {
	order := append([]string(nil), web.Statuses...)
	sort.SliceStable(order, func(i, j int) bool {
		return (web.StatusRank(order[i]) < web.StatusRank(order[j])) != q.Desc
	})
	offset, left := max((q.Page-1)*q.PageSize, 0), q.PageSize
	for _, status := range order {
		if q.Status != "" && status != q.Status {
			continue
		}
		n := page.Counts[status]
		page.Total += n
		if left == 0 || offset >= n {
			offset = max(offset-n, 0)
			continue
		}
		hosts, _, err := r.s.Store.ListHosts(ctx, store.HostQuery{Status: status, Group: q.Group, Sort: "name",
			Limit: left, Offset: offset})
		if err != nil {
			return page, err
		}
		page.Rows = append(page.Rows, r.rows(ctx, hosts)...)
		left -= len(hosts)
		offset = 0
	}
	return page, nil
}

func sortRows(rows []web.HostRow, by string, desc bool) {
	key := func(h web.HostRow) int {
		if by == web.SortPlacement {
			if h.PlacementAllowed {
				return 1
			}
			return 0
		}
		return web.StatusRank(h.Status)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := key(rows[i]), key(rows[j])
		if a != b {
			return (a < b) != desc
		}
		return rows[i].Name < rows[j].Name
	})
}

// storeState is the report's banner: whether this replica can write its
// store (a probe reused for a second) and when it last did.
func (r *reportSource) storeState(ctx context.Context) web.StoreState {
	h := r.s.Verifier.StoreHealth(ctx)
	return web.StoreState{Writable: h.Ready, Problem: h.Problem, LastWrite: h.LastWrite}
}

func (r *reportSource) rows(ctx context.Context, hosts []store.Host) []web.HostRow {
	now := time.Now()
	out := make([]web.HostRow, 0, len(hosts))
	for _, h := range hosts {
		row := web.HostRow{Name: h.Name, Group: h.Group, TPMFamily: h.TPMFamily, Status: h.Status, Since: h.StatusSince,
			LastAttested: h.LastAttested, Reason: h.Reason, ReasonCode: h.ReasonCode, TrustLevel: r.s.Verifier.TrustLevel(ctx, h)}
		if since, stale := r.s.Verifier.Staleness(ctx, h); stale {
			row.StaleSince = since
		}
		if p, err := r.s.Verifier.Policy(ctx, h.Group); err == nil {
			d := verifier.Decide(h, p, now)
			row.PlacementAllowed, row.PlacementReason = d.Allow, d.Reason
		}
		out = append(out, row)
	}
	return out
}

func (r *reportSource) Host(ctx context.Context, name string) (web.HostDetail, error) {
	h, err := r.s.Store.GetHost(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return web.HostDetail{}, fmt.Errorf("host %s: %w", name, web.ErrNotFound)
	}
	if err != nil {
		return web.HostDetail{}, err
	}
	d := web.HostDetail{HostRow: r.rows(ctx, []store.Host{h})[0]}
	if vd, le, err := r.s.Verifier.LatestVerdict(ctx, name); err == nil {
		fillVerdict(&d, vd)
		d.PolicyVersion = le.PolicyVersion
	}
	hist, err := r.s.Store.History(ctx, name, 200, 0)
	if err != nil {
		return d, err
	}
	for _, c := range hist {
		d.History = append(d.History, web.HistoryEntry{At: c.At, From: c.From, To: c.To, ReasonCode: c.ReasonCode, Reason: c.Reason,
			EvidenceDropped: c.EvidenceDropped})
	}
	return d, nil
}

func fillVerdict(d *web.HostDetail, vd *appraisal.Verdict) {
	for _, c := range vd.Checks {
		wc := web.Check{Code: c.Code, Passed: c.Passed, Message: c.Message, Component: c.Component, Bank: c.Bank,
			PCR: -1, EventIndex: -1, Expected: strings.Join(c.Expected, "\n"), Found: c.Found}
		if c.PCR != nil {
			wc.PCR = *c.PCR
		}
		if c.EventIndex != nil {
			wc.EventIndex = *c.EventIndex
		}
		d.Checks = append(d.Checks, wc)
	}
	d.SecureBoot, d.Components, d.NotJudged = vd.SecureBoot, vd.Components, vd.NotJudged
	d.PCRs = vd.PCRs
	for _, b := range vd.Bundles {
		d.Bundles = append(d.Bundles, web.BundleView{Name: b.Name, Version: b.Version, Vendor: b.Vendor,
			Acceptance: b.Acceptance, Signature: b.Signature})
	}
}

func (r *reportSource) LatestChange(ctx context.Context) (time.Time, error) {
	hosts, _, err := r.s.Store.ListHosts(ctx, store.HostQuery{Sort: "status_since", Desc: true, Limit: 1})
	if err != nil || len(hosts) == 0 {
		return time.Time{}, err
	}
	return hosts[0].StatusSince, nil
}

func (r *reportSource) AttestNow(ctx context.Context, actor, host string) error {
	_, err := r.s.Verifier.AttestNow(ctx, "web:"+actor, store.AttestSelector{Host: host})
	return notFound(err)
}

// PreviewLearn is the reference button: a dry run of `policy learn`. A
// host that cannot be a reference is a preview with its blocking checks,
// not an error, so the page can say why.
func (r *reportSource) PreviewLearn(ctx context.Context, actor, host string) (web.LearnPreview, error) {
	plan, err := r.s.Verifier.LearnReference(ctx, "web:"+actor, verifier.LearnRequest{Host: host, DryRun: true})
	var refusal *verifier.LearnRefusal
	if errors.As(err, &refusal) {
		p := web.LearnPreview{}
		if h, err := r.s.Store.GetHost(ctx, host); err == nil {
			p.Group = h.Group
		}
		for _, b := range refusal.Blocking {
			p.Blocking = append(p.Blocking, web.LearnBlocker{Code: b.Code, Message: b.Message})
		}
		return p, nil
	}
	if err != nil {
		return web.LearnPreview{}, notFound(err)
	}
	p := web.LearnPreview{Group: plan.Group, Version: plan.PolicyVersion}
	if !plan.Changes.Empty() {
		p.Changes = strings.Split(strings.TrimSuffix(plan.Changes.String(), "\n"), "\n")
	}
	return p, nil
}

// ApplyLearn applies the change previewed against version.
func (r *reportSource) ApplyLearn(ctx context.Context, actor, host, version string) error {
	_, err := r.s.Verifier.LearnReference(ctx, "web:"+actor, verifier.LearnRequest{Host: host, PolicyVersion: version})
	e, ok := verifier.AsError(err)
	switch {
	case ok && e.Code == verifier.CodePolicyChanged:
		return fmt.Errorf("%s: %w", e.Message, web.ErrPolicyChanged)
	case ok && e.Code == verifier.CodeNotAReference:
		return fmt.Errorf("%s: %w", e.Message, web.ErrNotAReference)
	}
	return notFound(err)
}

func notFound(err error) error {
	if e, ok := verifier.AsError(err); ok && e.Kind == verifier.KindNotFound {
		return fmt.Errorf("%s: %w", e.Message, web.ErrNotFound)
	}
	return err
}
