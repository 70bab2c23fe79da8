package verifier

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
)

// AttestNow asks hosts to attest at once: one host, a group, or all.
func (v *Verifier) AttestNow(ctx context.Context, actor string, sel store.AttestSelector) (int, error) {
	if err := sel.Validate(); err != nil {
		return 0, refuse(KindInvalid, "attest.selector", "%v", err)
	}
	if sel.Host != "" {
		if _, err := v.host(ctx, sel.Host); err != nil {
			return 0, err
		}
	}
	n, err := v.st.RequestAttest(ctx, sel, v.now())
	if err != nil {
		return 0, fmt.Errorf("request attestation: %w", err)
	}
	v.audit(ctx, actor, "host.attest_now", selectorString(sel), fmt.Sprintf("%d hosts", n))
	return n, nil
}

func selectorString(s store.AttestSelector) string {
	switch {
	case s.Host != "":
		return s.Host
	case s.Group != "":
		return "group:" + s.Group
	}
	return "all"
}

func (v *Verifier) host(ctx context.Context, name string) (store.Host, error) {
	h, err := v.st.GetHost(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return h, refuse(KindNotFound, "host.not_found", "no host named %q", name)
	}
	return h, err
}

// PutPolicy validates and stores a group's policy (creating the group) as
// its next version (policyversions.go).
func (v *Verifier) PutPolicy(ctx context.Context, actor, group string, p *policy.Policy) error {
	_, err := v.PutPolicyVersion(ctx, actor, group, p, "")
	return err
}

// CreateJoinToken makes a single-use join token for group (and optionally
// only for host). The token is returned once; only its hash is stored.
func (v *Verifier) CreateJoinToken(ctx context.Context, actor, group, host string, ttl time.Duration) (string, store.JoinToken, error) {
	if group == "" {
		group = v.cfg.DefaultGroup
	}
	if err := CheckGroupName(group); err != nil {
		return "", store.JoinToken{}, err
	}
	if host != "" && !ValidHostName(host) {
		return "", store.JoinToken{}, refuse(KindInvalid, "token.host_name", "host name %q is not valid", host)
	}
	if ttl <= 0 || ttl > 30*24*time.Hour {
		return "", store.JoinToken{}, refuse(KindInvalid, "token.ttl", "a join token lives between 1s and 30 days, not %s", ttl)
	}
	if err := v.EnsureGroup(ctx, group); err != nil {
		return "", store.JoinToken{}, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", store.JoinToken{}, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	now := v.now()
	jt := store.JoinToken{ID: joinTokenID(secret), SecretHash: sum[:], Group: group, Host: host,
		CreatedBy: actor, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := v.st.CreateJoinToken(ctx, jt); err != nil {
		return "", jt, fmt.Errorf("store join token: %w", err)
	}
	v.audit(ctx, actor, "join_token.create", jt.ID, "group "+group+" host "+host)
	return joinTokenPrefix + secret, jt, nil
}

// CreateAPIToken makes an API token with a role. It is returned once.
func (v *Verifier) CreateAPIToken(ctx context.Context, actor, name string, role auth.Role) (string, store.APIToken, error) {
	id, full, hash, err := auth.NewToken()
	if err != nil {
		return "", store.APIToken{}, err
	}
	t := store.APIToken{ID: id, Name: name, SecretHash: hash, Role: role.String(), CreatedAt: v.now()}
	if err := v.st.CreateAPIToken(ctx, t); err != nil {
		return "", t, fmt.Errorf("store API token: %w", err)
	}
	v.audit(ctx, actor, "api_token.create", id, name+" ("+role.String()+")")
	return full, t, nil
}

// RevokeAPIToken revokes an API token; it stops working at once.
func (v *Verifier) RevokeAPIToken(ctx context.Context, actor, id string) error {
	err := v.st.RevokeAPIToken(ctx, id, v.now())
	if errors.Is(err, store.ErrNotFound) {
		return refuse(KindNotFound, "token.not_found", "no API token %q", id)
	}
	if err != nil {
		return fmt.Errorf("revoke API token %s: %w", id, err)
	}
	v.audit(ctx, actor, "api_token.revoke", id, "")
	return nil
}

// RemoveHost deletes a host; its agent's credential stops working.
func (v *Verifier) RemoveHost(ctx context.Context, actor, name string) error {
	err := v.st.DeleteHost(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(KindNotFound, "host.not_found", "no host named %q", name)
	}
	if err != nil {
		return err
	}
	v.audit(ctx, actor, "host.remove", name, "")
	return nil
}

// MoveHost puts a host in another group.
func (v *Verifier) MoveHost(ctx context.Context, actor, name, group string) error {
	if err := CheckGroupName(group); err != nil {
		return err
	}
	if err := v.EnsureGroup(ctx, group); err != nil {
		return err
	}
	_, err := v.st.UpdateHost(ctx, name, func(h *store.Host) error { h.Group = group; return nil })
	if errors.Is(err, store.ErrNotFound) {
		return refuse(KindNotFound, "host.not_found", "no host named %q", name)
	}
	if err != nil {
		return err
	}
	v.audit(ctx, actor, "host.move", name, "to group "+group)
	return nil
}

// PolicyHash identifies a policy version in trust tokens.
func PolicyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
