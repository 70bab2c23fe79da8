package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

func (s *server) version(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, VersionResponse{API: "v1", AgentProtocol: wire.ProtocolVersion})
	return nil
}

func pageParams(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	limit, offset = 100, 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, errorf(http.StatusBadRequest, "bad_parameter", "limit must be 1..1000")
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "bad_parameter", "offset must be a number >= 0")
		}
	}
	return limit, offset, nil
}

func hostQuery(r *http.Request) (store.HostQuery, error) {
	q := r.URL.Query()
	hq := store.HostQuery{Status: q.Get("status"), Group: q.Get("group"), Search: q.Get("search"),
		Sort: q.Get("sort"), Desc: q.Get("desc") == "true" || q.Get("desc") == "1"}
	if hq.Status != "" && !store.ValidStatus(hq.Status) {
		return hq, errorf(http.StatusBadRequest, "bad_parameter", "unknown status %q", hq.Status)
	}
	if hq.Sort != "" {
		ok := false
		for _, c := range store.HostSortColumns {
			ok = ok || c == hq.Sort
		}
		if !ok {
			return hq, errorf(http.StatusBadRequest, "bad_parameter", "cannot sort by %q", hq.Sort)
		}
	}
	return hq, nil
}

func (s *server) listHosts(w http.ResponseWriter, r *http.Request) error {
	hq, err := hostQuery(r)
	if err != nil {
		return err
	}
	if hq.Limit, hq.Offset, err = pageParams(r); err != nil {
		return err
	}
	hosts, total, err := s.v.Store().ListHosts(r.Context(), hq)
	if err != nil {
		return err
	}
	p := Page[Host]{Items: make([]Host, 0, len(hosts)), Total: total, Limit: hq.Limit, Offset: hq.Offset}
	for _, h := range hosts {
		p.Items = append(p.Items, s.hostView(r, h))
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// hostView is HostFrom with the host's staleness, judged now.
func (s *server) hostView(r *http.Request, h store.Host) Host {
	out := HostFrom(h)
	out.Staleness = StalenessOf(s.v.Staleness(r.Context(), h))
	out.TrustLevel = s.v.TrustLevel(r.Context(), h)
	return out
}

func (s *server) storedHost(r *http.Request) (store.Host, error) {
	name := r.PathValue("name")
	h, err := s.v.Store().GetHost(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return h, errorf(http.StatusNotFound, "host.not_found", "no host named %q", name)
	}
	return h, err
}

func (s *server) getHost(w http.ResponseWriter, r *http.Request) error {
	h, err := s.storedHost(r)
	if err != nil {
		return err
	}
	out := HostDetail{Host: s.hostView(r, h)}
	if vd, le, err := s.v.LatestVerdict(r.Context(), h.Name); err == nil {
		out.Verdict, out.PolicyVersion = vd, le.PolicyVersion
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) deleteHost(w http.ResponseWriter, r *http.Request) error {
	if err := s.v.RemoveHost(r.Context(), actor(r), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) attestHost(w http.ResponseWriter, r *http.Request) error {
	n, err := s.v.AttestNow(r.Context(), actor(r), store.AttestSelector{Host: r.PathValue("name")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, AttestResponse{Requested: n})
	return nil
}

func (s *server) attestMany(w http.ResponseWriter, r *http.Request) error {
	var req AttestRequest
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	n, err := s.v.AttestNow(r.Context(), actor(r), store.AttestSelector{Group: req.Group, All: req.All})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, AttestResponse{Requested: n})
	return nil
}

func (s *server) moveHost(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Group string `json:"group"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	if req.Group == "" {
		return errorf(http.StatusBadRequest, "bad_parameter", "group is required")
	}
	if err := s.v.MoveHost(r.Context(), actor(r), r.PathValue("name"), req.Group); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) approveEK(w http.ResponseWriter, r *http.Request) error {
	// No body at all: ApproveEK says that the EK must be named.
	var req ApproveEKRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, 4<<10, &req); err != nil {
			return err
		}
	}
	if err := s.v.ApproveEK(r.Context(), actor(r), r.PathValue("name"), req.EK); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) hostVerdict(w http.ResponseWriter, r *http.Request) error {
	// An unknown host is host.not_found, not "has not attested yet".
	if _, err := s.storedHost(r); err != nil {
		return err
	}
	vd, le, err := s.v.LatestVerdict(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, HostVerdict{Host: le.Host, At: le.At, Verdict: vd, PolicyVersion: le.PolicyVersion})
	return nil
}

func (s *server) hostHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := s.storedHost(r)
	if err != nil {
		return err
	}
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	hist, err := s.v.Store().History(r.Context(), h.Name, limit, offset)
	if err != nil {
		return err
	}
	out := make([]HistoryEntry, 0, len(hist))
	for _, c := range hist {
		out = append(out, HistoryEntry{At: c.At, From: c.From, To: c.To, ReasonCode: c.ReasonCode, Reason: c.Reason,
			EvidenceBytes: c.EvidenceBytes, EvidenceDropped: c.EvidenceDropped, PolicyVersion: c.PolicyVersion})
	}
	writeJSON(w, http.StatusOK, Window[HistoryEntry]{Items: out, Limit: limit, Offset: offset})
	return nil
}

// hostAttestations lists a host's attestations, newest first: one item each
// for the recent ones (the raw window), then one per hour and status for the
// older ones, kept for the retention period. Since narrows to those at or
// after a time (and the hours that end after it); limit and offset page
// through them.
// maxAttestationOffset bounds how many rows an offset makes the store read.
const maxAttestationOffset = 100_000

func (s *server) hostAttestations(w http.ResponseWriter, r *http.Request) error {
	h, err := s.storedHost(r)
	if err != nil {
		return err
	}
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	if offset > maxAttestationOffset {
		return errorf(http.StatusBadRequest, "bad_parameter", "offset must be at most %d here; narrow with since", maxAttestationOffset)
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return errorf(http.StatusBadRequest, "bad_parameter", "since must be an RFC 3339 time, not %q", v)
		}
	}
	// The store pages by time only; an offset reads past the rows it skips.
	sums, err := s.v.Store().Summaries(r.Context(), h.Name, since, offset+limit)
	if err != nil {
		return err
	}
	out := make([]Attestation, 0, limit)
	for i := offset; i < len(sums); i++ {
		out = append(out, AttestationFrom(sums[i]))
	}
	writeJSON(w, http.StatusOK, Window[Attestation]{Items: out, Limit: limit, Offset: offset})
	return nil
}

func (s *server) hostPlacement(w http.ResponseWriter, r *http.Request) error {
	d, err := s.v.Placement(r.Context(), actor(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *server) trustToken(w http.ResponseWriter, r *http.Request) error {
	tok, claims, err := s.v.TrustToken(r.Context(), r.PathValue("name"), r.URL.Query().Get("audience"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, TrustTokenResponse{Token: tok, Claims: claims})
	return nil
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.v.Store().ListGroups(r.Context())
	if err != nil {
		return err
	}
	out := make([]Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, Group{g.Name, g.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, List[Group]{Items: out})
	return nil
}

func (s *server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	g, err := s.v.Store().GetGroup(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "group.not_found", "no group named %q", r.PathValue("name"))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, err = w.Write(g.Policy)
	return err
}

// putPolicy stores the body as the group's next policy version, with the
// comment query parameter; the version is in the PolicyVersionHeader.
func (s *server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := readPolicy(w, r)
	if err != nil {
		return err
	}
	pv, err := s.v.PutPolicyVersion(r.Context(), actor(r), r.PathValue("name"), p, r.URL.Query().Get("comment"))
	if err != nil {
		return err
	}
	w.Header().Set(PolicyVersionHeader, strconv.Itoa(pv.Version))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readPolicy reads and parses a policy YAML request body.
func readPolicy(w http.ResponseWriter, r *http.Request) (*policy.Policy, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, policy.MaxPolicyBytes))
	if err != nil {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body_too_large", "policy over %d bytes", policy.MaxPolicyBytes)
	}
	p, err := policy.Parse(body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "policy.invalid", "%v", err)
	}
	return p, nil
}

func (s *server) listJoinTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.v.Store().ListJoinTokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]JoinTokenInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, JoinTokenInfo{t.ID, t.Group, t.Host, t.ExpiresAt, t.UsedAt, t.UsedBy})
	}
	writeJSON(w, http.StatusOK, List[JoinTokenInfo]{Items: out})
	return nil
}

func (s *server) createJoinToken(w http.ResponseWriter, r *http.Request) error {
	var req JoinTokenRequest
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	ttl := 24 * time.Hour
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return errorf(http.StatusBadRequest, "bad_parameter", "ttl %q is not a duration", req.TTL)
		}
		ttl = d
	}
	tok, jt, err := s.v.CreateJoinToken(r.Context(), actor(r), req.Group, req.Host, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, JoinTokenResponse{Token: tok, ID: jt.ID, Group: jt.Group, Host: jt.Host, ExpiresAt: jt.ExpiresAt})
	return nil
}

func (s *server) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.v.Store().ListAPITokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]APITokenResponse, 0, len(ts))
	for _, t := range ts {
		out = append(out, APITokenResponse{ID: t.ID, Name: t.Name, Role: t.Role, Revoked: t.RevokedAt != nil})
	}
	writeJSON(w, http.StatusOK, List[APITokenResponse]{Items: out})
	return nil
}

func (s *server) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req APITokenRequest
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return errorf(http.StatusBadRequest, "bad_parameter", "%v", err)
	}
	if req.Name == "" {
		return errorf(http.StatusBadRequest, "bad_parameter", "name is required")
	}
	tok, t, err := s.v.CreateAPIToken(r.Context(), actor(r), req.Name, role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, APITokenResponse{Token: tok, ID: t.ID, Name: t.Name, Role: t.Role})
	return nil
}

func (s *server) revokeAPIToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.v.RevokeAPIToken(r.Context(), actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) audit(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	es, total, err := s.v.Store().ListAudit(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	// store.AuditEntry has no JSON names; the API's are snake_case like the rest.
	out := make([]AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, Page[AuditEntry]{Items: out, Total: total, Limit: limit, Offset: offset})
	return nil
}
