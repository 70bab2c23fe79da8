package verifier

import (
	"context"
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
)

// A group's policy is never overwritten: every put is a new version, with
// who put it, when and why, so that an operator can see what changed, and
// return to a version that judged well. A rollback is a put too (history is
// append-only): the old YAML becomes the newest version, and attestations
// from then on are judged, and recorded, under that new number.

// maxPolicyComment bounds a version's comment, which is shown in history.
const maxPolicyComment = 1000

// PutPolicyVersion validates p and stores it as group's next version
// (creating the group), with actor as its author.
func (v *Verifier) PutPolicyVersion(ctx context.Context, actor, group string, p *policy.Policy, comment string) (store.PolicyVersion, error) {
	if err := p.Validate(); err != nil {
		return store.PolicyVersion{}, refuse(KindInvalid, "policy.invalid", "%v", err)
	}
	b, err := p.Marshal()
	if err != nil {
		return store.PolicyVersion{}, err
	}
	return v.putPolicyYAML(ctx, actor, group, b, comment)
}

// putPolicyYAML stores YAML already validated as group's next version.
func (v *Verifier) putPolicyYAML(ctx context.Context, actor, group string, yaml []byte, comment string) (store.PolicyVersion, error) {
	if err := CheckGroupName(group); err != nil {
		return store.PolicyVersion{}, err
	}
	if len(comment) > maxPolicyComment {
		return store.PolicyVersion{}, refuse(KindInvalid, "policy.comment_too_long", "the comment is %d bytes, at most %d are kept", len(comment), maxPolicyComment)
	}
	pv, err := v.st.PutPolicy(ctx, store.PolicyVersion{Group: group, Policy: yaml, Author: actor, At: v.now(), Comment: comment})
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("store policy of %s: %w", group, err)
	}
	v.policies.invalidate(group)
	v.audit(ctx, actor, "policy.put", group, fmt.Sprintf("version %d", pv.Version))
	return pv, nil
}

// PolicyHistory lists group's policy versions, newest first, without YAML.
func (v *Verifier) PolicyHistory(ctx context.Context, group string) ([]store.PolicyVersion, error) {
	vs, err := v.st.PolicyVersions(ctx, group)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(KindNotFound, "group.not_found", "group %q does not exist", group)
	}
	return vs, err
}

// PolicyVersion returns one version of group's policy, with its YAML.
func (v *Verifier) PolicyVersion(ctx context.Context, group string, version int) (store.PolicyVersion, error) {
	pv, err := v.st.GetPolicyVersion(ctx, group, version)
	if errors.Is(err, store.ErrNotFound) {
		return store.PolicyVersion{}, refuse(KindNotFound, "policy.version_not_found", "group %q has no policy version %d", group, version)
	}
	return pv, err
}

// RollbackPolicy makes version's YAML group's policy again, as a new
// version whose comment names the one it restores. The old YAML must still
// be a valid policy for this verifier.
func (v *Verifier) RollbackPolicy(ctx context.Context, actor, group string, version int) (store.PolicyVersion, error) {
	old, err := v.PolicyVersion(ctx, group, version)
	if err != nil {
		return store.PolicyVersion{}, err
	}
	p, err := policy.Parse(old.Policy)
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		return store.PolicyVersion{}, refuse(KindConflict, "policy.invalid", "policy version %d of group %q is not a valid policy for this verifier: %v", version, group, err)
	}
	pv, err := v.putPolicyYAML(ctx, actor, group, old.Policy, fmt.Sprintf("rollback to version %d", version))
	if err != nil {
		return store.PolicyVersion{}, err
	}
	v.audit(ctx, actor, "policy.rollback", group, fmt.Sprintf("version %d restored as version %d", version, pv.Version))
	return pv, nil
}
