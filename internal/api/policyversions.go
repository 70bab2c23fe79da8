package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// PolicyVersionHeader carries the version PUT .../policy stored.
const PolicyVersionHeader = "Bootproof-Policy-Version"

// PolicyVersion is one version of a group's policy
// (GET /api/v1/groups/{name}/policy/versions[/{version}]).
type PolicyVersion struct {
	Group   string    `json:"group"`
	Version int       `json:"version"`
	Author  string    `json:"author,omitempty"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
	// Policy is the YAML, only when one version is asked for.
	Policy string `json:"policy,omitempty"`
}

// RollbackRequest is the body of POST .../policy:rollback.
type RollbackRequest struct {
	Version int `json:"version"`
}

func policyVersionView(pv store.PolicyVersion) PolicyVersion {
	return PolicyVersion{Group: pv.Group, Version: pv.Version, Author: pv.Author, At: pv.At, Comment: pv.Comment, Policy: string(pv.Policy)}
}

func (s *server) policyVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.v.PolicyHistory(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := make([]PolicyVersion, 0, len(vs))
	for _, pv := range vs {
		out = append(out, policyVersionView(pv))
	}
	writeJSON(w, http.StatusOK, List[PolicyVersion]{Items: out})
	return nil
}

func (s *server) policyVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return errorf(http.StatusBadRequest, "policy.version", "version %q is not a positive whole number", r.PathValue("version"))
	}
	pv, err := s.v.PolicyVersion(r.Context(), r.PathValue("name"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyVersionView(pv))
	return nil
}

// rollbackPolicy makes an old version the group's policy, as a new version.
func (s *server) rollbackPolicy(w http.ResponseWriter, r *http.Request) error {
	var req RollbackRequest
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return errorf(http.StatusBadRequest, "policy.version", "version must be a positive whole number, got %d", req.Version)
	}
	pv, err := s.v.RollbackPolicy(r.Context(), actor(r), r.PathValue("name"), req.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyVersionView(pv))
	return nil
}

// maxPreviewListed bounds the changed hosts one preview lists.
const maxPreviewListed = 10_000

// previewPolicy re-appraises the group's hosts under the YAML body and
// stores nothing; listed (default verifier.PreviewListed) caps the changed
// hosts shown.
func (s *server) previewPolicy(w http.ResponseWriter, r *http.Request) error {
	listed := verifier.PreviewListed
	if q := r.URL.Query().Get("listed"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxPreviewListed {
			return errorf(http.StatusBadRequest, "preview.listed", "listed must be a whole number from 1 to %d, got %q", maxPreviewListed, q)
		}
		listed = n
	}
	p, err := readPolicy(w, r)
	if err != nil {
		return err
	}
	pv, err := s.v.PreviewPolicy(r.Context(), r.PathValue("name"), p, listed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}
