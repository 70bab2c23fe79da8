package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// LearnRequest is the body of POST /api/v1/groups/{name}/learn.
type LearnRequest struct {
	Host string `json:"host"`
	// DryRun returns the change and the resulting policy, storing nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Force takes a host blocked by overridable checks (Secure Boot off,
	// a bad bundle); Reason, required with it, goes to the audit log.
	Force  bool   `json:"force,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Replace names classes whose old references are dropped.
	Replace []string `json:"replace,omitempty"`
	// Expire gives the superseded references of the learned classes an
	// expiry this far ahead: "7d", "36h", "90m".
	Expire string `json:"expire,omitempty"`
	// PolicyVersion is the policy_version a dry run answered: the real
	// call is refused with 409 policy.changed unless the group's policy
	// is still that version. Optional; the CLI and the web always send it.
	PolicyVersion string `json:"policy_sha256,omitempty"`
}

// LearnResponse is what a learn did, or with dry_run would do.
type LearnResponse struct {
	Group   string `json:"group"`
	Host    string `json:"host"`
	DryRun  bool   `json:"dry_run"`
	Applied bool   `json:"applied"`
	// PolicyVersion is the version the change starts from (send it
	// back to apply); NewPolicyVersion the version of Policy.
	PolicyVersion    string         `json:"policy_sha256"`
	NewPolicyVersion string         `json:"new_policy_sha256"`
	Changes          policy.Changes `json:"changes"`
	// Diff is Changes as the CLI prints it, one change a line.
	Diff string `json:"diff"`
	// Policy is the resulting policy, YAML.
	Policy string `json:"policy"`
	// Overridden are the blocking checks --force took the host despite.
	Overridden []verifier.Blocker `json:"overridden,omitempty"`
}

// maxLearnBody bounds a learn request: a host name, a reason, a few
// classes.
const maxLearnBody = 8 << 10

func (s *server) learnPolicy(w http.ResponseWriter, r *http.Request) error {
	var req LearnRequest
	if err := decode(w, r, maxLearnBody, &req); err != nil {
		return err
	}
	expire, err := ParseExpire(req.Expire)
	if err != nil {
		return errorf(http.StatusBadRequest, verifier.CodeLearnOptions, "expire: %v", err)
	}
	h, err := s.v.Store().GetHost(r.Context(), req.Host)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "host.not_found", "no host named %q", req.Host)
	} else if err != nil {
		return err
	}
	if h.Group != r.PathValue("name") {
		return errorf(http.StatusBadRequest, "policy.learn_group", "host %q is in group %q, not %q", h.Name, h.Group, r.PathValue("name"))
	}
	plan, err := s.v.LearnReference(r.Context(), actor(r), verifier.LearnRequest{
		Host: req.Host, DryRun: req.DryRun, Force: req.Force, Reason: req.Reason,
		Replace: req.Replace, Expire: expire, PolicyVersion: req.PolicyVersion})
	if err != nil {
		return err
	}
	y, err := plan.Policy.Marshal()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, LearnResponse{Group: plan.Group, Host: plan.Host, DryRun: req.DryRun, Applied: plan.Applied,
		PolicyVersion: plan.PolicyVersion, NewPolicyVersion: plan.NewPolicyVersion, Changes: plan.Changes,
		Diff: plan.Changes.String(), Policy: string(y), Overridden: plan.Overridden})
	return nil
}

// maxExpireDays keeps a day count from overflowing a time.Duration; the
// verifier refuses more than 400 days anyway.
const maxExpireDays = 100000

// ParseExpire reads an expiry period: a whole number of days ("7d") or a
// Go duration ("36h", "90m"); "" is none.
func ParseExpire(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxExpireDays {
			return 0, errors.New(strconv.Quote(s) + " is not a number of days such as 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New(strconv.Quote(s) + " is not a period such as 7d or 36h")
	}
	return d, nil
}
