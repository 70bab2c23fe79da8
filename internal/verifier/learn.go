package verifier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
)

// Learn refusal codes besides CodeNotAReference.
const (
	// CodePolicyChanged: the group's policy is no longer the version the
	// caller previewed; nothing was stored (409). Preview again.
	CodePolicyChanged = "policy.changed"
	// CodeLearnReason: --force without a reason (400).
	CodeLearnReason = "learn.reason_required"
	// CodeLearnOptions: a bad --replace class or --expire (400).
	CodeLearnOptions = "learn.options"
)

// learnApplyMu serialises the version check and the store of learns.
var learnApplyMu sync.Mutex

// maxLearnExpire and maxReasonLen bound what a learn request may ask.
const (
	maxLearnExpire = 400 * 24 * time.Hour
	maxReasonLen   = 500
)

// LearnRequest is one `policy learn`: take Host's latest boot as its
// group's reference values.
type LearnRequest struct {
	Host string
	// DryRun computes the plan and stores nothing.
	DryRun bool
	// Force takes a boot blocked by overridable checks; Reason, which
	// goes to the audit log, is then required.
	Force  bool
	Reason string
	// Replace and Expire as policy.LearnOptions (Expire from now).
	Replace []string
	Expire  time.Duration
	// PolicyVersion, when set, is the version the caller previewed: the
	// apply is refused (policy.changed) unless the group's policy is
	// still that version.
	PolicyVersion string
}

// LearnPlan is what a learn does or would do.
type LearnPlan struct {
	Group string
	Host  string
	// PolicyVersion is the version of the group's policy the plan starts
	// from; NewPolicyVersion the version of Policy, the result.
	PolicyVersion    string
	NewPolicyVersion string
	Changes          policy.Changes
	Policy           *policy.Policy
	// Overridden are the blockers --force took the boot despite.
	Overridden []Blocker
	// Applied says the policy was stored (false for a dry run).
	Applied bool
}

// LearnReference takes a host's latest boot as its group's reference
// values, as an operator does with a golden host, adding to the group's
// references (or replacing the classes req.Replace names). A boot that
// failed for anything but reference values is refused (LearnRefusal,
// learn.not_a_reference), unless req.Force overrides what may be
// overridden. With req.DryRun the plan is returned and nothing stored.
func (v *Verifier) LearnReference(ctx context.Context, actor string, req LearnRequest) (*LearnPlan, error) {
	reason, err := checkLearnRequest(req)
	if err != nil {
		return nil, err
	}
	h, err := v.host(ctx, req.Host)
	if err != nil {
		return nil, err
	}
	if err := CheckGroupName(h.Group); err != nil {
		return nil, err
	}
	plan, err := v.planLearn(ctx, h, req)
	if err != nil || req.DryRun {
		return plan, err
	}
	if err := v.applyLearn(ctx, actor, plan, req.PolicyVersion); err != nil {
		return nil, err
	}
	v.audit(ctx, actor, "policy.learn", h.Group, learnAuditDetail(plan, reason))
	return plan, nil
}

// checkLearnRequest checks what needs no storage, and returns the reason
// trimmed.
func checkLearnRequest(req LearnRequest) (string, error) {
	reason := strings.TrimSpace(req.Reason)
	if req.Force && reason == "" {
		return "", refuse(KindInvalid, CodeLearnReason, "--force needs --reason TEXT: why this boot may be a reference goes to the audit log")
	}
	if utf8.RuneCountInString(reason) > maxReasonLen {
		return "", refuse(KindInvalid, CodeLearnReason, "the reason is %d characters, more than the %d allowed", utf8.RuneCountInString(reason), maxReasonLen)
	}
	if req.Expire < 0 || req.Expire > maxLearnExpire {
		return "", refuse(KindInvalid, CodeLearnOptions, "expire %s: must be between 1s and 400 days", req.Expire)
	}
	return reason, nil
}

// planLearn reads the group's stored policy and the host's latest verdict
// and computes the learned policy and its diff.
func (v *Verifier) planLearn(ctx context.Context, h store.Host, req LearnRequest) (*LearnPlan, error) {
	raw, err := v.groupPolicyBytes(ctx, h.Group)
	if err != nil {
		return nil, err
	}
	cur, err := policy.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("policy of group %s: %w", h.Group, err)
	}
	vd, _, err := v.LatestVerdict(ctx, h.Name)
	if e, ok := AsError(err); ok && e.Code == "host.no_evidence" {
		return nil, refuseLearn(h.Name, []Blocker{{Code: e.Code, Message: "the host has no verdict yet"}}, false)
	}
	if err != nil {
		return nil, err
	}
	plan := &LearnPlan{Group: h.Group, Host: h.Name, PolicyVersion: PolicyHash(raw)}
	if bs := learnBlockers(vd); len(bs) > 0 {
		if !req.Force || anyEvidenceBlocker(bs) {
			return nil, refuseLearn(h.Name, bs, req.Force)
		}
		plan.Overridden = bs
	}
	opts := policy.LearnOptions{Replace: req.Replace}
	if req.Expire > 0 {
		opts.ExpireAt = v.now().Add(req.Expire).UTC().Truncate(time.Second)
	}
	plan.Policy, err = policy.LearnWith(vd.Components, cur, opts)
	if err != nil {
		return nil, refuse(KindInvalid, CodeLearnOptions, "%v", err)
	}
	b, err := plan.Policy.Marshal()
	if err != nil {
		return nil, err
	}
	plan.NewPolicyVersion = PolicyHash(b)
	plan.Changes = policy.Diff(cur, plan.Policy)
	return plan, nil
}

// groupPolicyBytes is the group's stored policy, or the default policy's
// YAML for a group that has none stored.
func (v *Verifier) groupPolicyBytes(ctx context.Context, group string) ([]byte, error) {
	g, err := v.st.GetGroup(ctx, group)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(g.Policy) == 0) {
		return policy.Default().Marshal()
	}
	if err != nil {
		return nil, fmt.Errorf("load policy of group %s: %w", group, err)
	}
	return g.Policy, nil
}

// PolicyETag is what `policy learn` previews and applies against: the
// SHA-256 of the group's stored YAML (the version number alone would not
// catch a group created between preview and apply).
func (v *Verifier) PolicyETag(ctx context.Context, group string) (string, error) {
	raw, err := v.groupPolicyBytes(ctx, group)
	if err != nil {
		return "", err
	}
	return PolicyHash(raw), nil
}

// applyLearn stores the plan's policy, unless the group's policy is no
// longer the one the plan was computed from or the caller previewed: what
// is stored is what was shown.
func (v *Verifier) applyLearn(ctx context.Context, actor string, plan *LearnPlan, previewed string) error {
	// Two learns in this process cannot both pass the check and then
	// store; the store itself has no compare-and-set yet, so another
	// replica's write between the check and the store is not caught.
	learnApplyMu.Lock()
	defer learnApplyMu.Unlock()
	now, err := v.PolicyETag(ctx, plan.Group)
	if err != nil {
		return err
	}
	for _, want := range []string{previewed, plan.PolicyVersion} {
		if want != "" && want != now {
			return refuse(KindConflict, CodePolicyChanged, "the policy of group %q changed since it was previewed (version %s, now %s); preview the change again", plan.Group, short(want), short(now))
		}
	}
	if _, err := v.PutPolicyVersion(ctx, actor, plan.Group, plan.Policy, "reference values learned from host "+plan.Host); err != nil {
		return err
	}
	plan.Applied = true
	return nil
}

func short(version string) string {
	if len(version) > 12 {
		return version[:12]
	}
	return version
}

// learnAuditDetail says what the learn changed, and with --force which
// blockers were overridden and why.
func learnAuditDetail(plan *LearnPlan, reason string) string {
	d := "reference values learned from host " + plan.Host + ": " +
		strconv.Itoa(len(plan.Changes.References)) + " reference changes"
	if len(plan.Overridden) > 0 {
		d += "; forced over " + blockerList(plan.Overridden)
	}
	if reason != "" {
		d += "; reason: " + reason
	}
	return d
}
