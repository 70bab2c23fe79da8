package web

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// fakeSource is an in-memory Source over a list of hosts, filtering and
// sorting as FleetQuery documents.
type fakeSource struct {
	mu      sync.Mutex
	hosts   []HostDetail
	latest  time.Time
	err     error // returned by every method when set
	queries []FleetQuery
}

var _ Source = (*fakeSource)(nil)

func (f *fakeSource) Fleet(ctx context.Context, q FleetQuery) (FleetPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if f.err != nil {
		return FleetPage{}, f.err
	}
	fp := FleetPage{Counts: map[string]int{}}
	groups := map[string]bool{}
	var rows []HostRow
	search := strings.ToLower(q.Search)
	for i := range f.hosts {
		h := f.hosts[i].HostRow
		groups[h.Group] = true
		if (q.Group != "" && h.Group != q.Group) || (search != "" && !strings.Contains(strings.ToLower(h.Name), search)) {
			continue
		}
		fp.Counts[h.Status]++
		if q.Status == "" || h.Status == q.Status {
			rows = append(rows, h)
		}
	}
	for g := range groups {
		fp.Groups = append(fp.Groups, g)
	}
	sort.Strings(fp.Groups)
	less := fakeLess(q.Sort)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if q.Desc {
			a, b = b, a
		}
		if c := less(a, b); c != 0 {
			return c < 0
		}
		return rows[i].Name < rows[j].Name
	})
	fp.Total = len(rows)
	lo := (q.Page - 1) * q.PageSize
	if lo > len(rows) {
		lo = len(rows)
	}
	hi := min(lo+q.PageSize, len(rows))
	fp.Rows = rows[lo:hi]
	return fp, nil
}

func cmpInt(a, b int) int { return a - b }

func fakeLess(col string) func(a, b HostRow) int {
	switch col {
	case SortName:
		return func(a, b HostRow) int { return strings.Compare(a.Name, b.Name) }
	case SortGroup:
		return func(a, b HostRow) int { return strings.Compare(a.Group, b.Group) }
	case SortTPM:
		return func(a, b HostRow) int { return strings.Compare(a.TPMFamily, b.TPMFamily) }
	case SortSince:
		return func(a, b HostRow) int { return a.Since.Compare(b.Since) }
	case SortAttested:
		return func(a, b HostRow) int {
			switch {
			case a.LastAttested == nil && b.LastAttested == nil:
				return 0
			case a.LastAttested == nil:
				return -1
			case b.LastAttested == nil:
				return 1
			}
			return a.LastAttested.Compare(*b.LastAttested)
		}
	case SortReason:
		return func(a, b HostRow) int { return strings.Compare(a.Reason, b.Reason) }
	case SortPlacement:
		return func(a, b HostRow) int {
			return cmpInt(boolInt(a.PlacementAllowed), boolInt(b.PlacementAllowed))
		}
	}
	return func(a, b HostRow) int { return cmpInt(StatusRank(a.Status), StatusRank(b.Status)) }
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (f *fakeSource) Host(ctx context.Context, name string) (HostDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return HostDetail{}, f.err
	}
	for _, h := range f.hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return HostDetail{}, fmt.Errorf("host %q: %w", name, ErrNotFound)
}

func (f *fakeSource) LatestChange(ctx context.Context) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest, f.err
}

// setStatus changes a host's status as the verifier would.
func (f *fakeSource) setStatus(name, status, reason string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.hosts {
		h := &f.hosts[i]
		if h.Name == name {
			h.History = append(h.History, HistoryEntry{At: at, From: h.Status, To: status, Reason: reason})
			h.Status, h.Reason, h.Since = status, reason, at
			h.PlacementAllowed, h.PlacementReason = status == StatusPassed, "status is "+status
		}
	}
	f.latest = at
}

// fakeAuth knows a fixed set of tokens.
type fakeAuth struct {
	tokens map[string]Principal
	err    error // a verifier fault, returned for every token when set
}

var _ Authenticator = (*fakeAuth)(nil)

func (a *fakeAuth) Authenticate(ctx context.Context, token string) (Principal, error) {
	if a.err != nil {
		return Principal{}, a.err
	}
	p, ok := a.tokens[token]
	if !ok {
		return Principal{}, fmt.Errorf("token %.4s…: %w", token, ErrInvalidToken)
	}
	return p, nil
}

// fakeActions records what operators asked for.
type fakeActions struct {
	mu    sync.Mutex
	calls []string // "attest alice web-01"
	err   error
	// previews are PreviewLearn's answers by host; a host not in it
	// previews one added kernel at version "v1".
	previews map[string]LearnPreview
	// version is the group's policy version ApplyLearn compares with;
	// "" means "v1".
	version string
}

func (a *fakeActions) record(kind, actor, host string, src *fakeSource) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if _, err := src.Host(context.Background(), host); err != nil {
		return err
	}
	a.calls = append(a.calls, kind+" "+actor+" "+host)
	return nil
}

// boundActions ties fakeActions to a source, to answer ErrNotFound.
type boundActions struct {
	*fakeActions
	src *fakeSource
}

func (b boundActions) AttestNow(ctx context.Context, actor, host string) error {
	return b.record("attest", actor, host, b.src)
}

func (b boundActions) PreviewLearn(ctx context.Context, actor, host string) (LearnPreview, error) {
	if err := b.record("preview", actor, host, b.src); err != nil {
		return LearnPreview{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.previews[host]; ok {
		return p, nil
	}
	return LearnPreview{Group: "lab", Version: "v1", Changes: []string{"+ kernel: /vmlinuz-6.12 (sha256:" + strings.Repeat("c", 64) + ")"}}, nil
}

func (b boundActions) ApplyLearn(ctx context.Context, actor, host, version string) error {
	b.mu.Lock()
	current := b.version
	b.mu.Unlock()
	if current == "" {
		current = "v1"
	}
	if version != current {
		return fmt.Errorf("version %s, now %s: %w", version, current, ErrPolicyChanged)
	}
	if p, ok := b.previews[host]; ok && len(p.Blocking) > 0 {
		return fmt.Errorf("%s: %w", p.Blocking[0].Code, ErrNotAReference)
	}
	return b.record("reference "+version, actor, host, b.src)
}

var errVerifierDown = errors.New("database is locked")
