package verifier

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// Decision is a placement answer: may workloads start on or move to a host.
type Decision struct {
	Host   string `json:"host"`
	Allow  bool   `json:"allow"`
	Reason string `json:"reason"`
	// ReasonCode is the host's stored headline code (the same first
	// reason the report, the web page and webhooks show) when the host is
	// not Passed; for a Failed host Reason ends with its sentence.
	ReasonCode string `json:"reason_code,omitempty"`
	Status     string `json:"status"`
	Mode       string `json:"mode"`
	Fresh      bool   `json:"fresh"`
	// Trusted says the host itself qualifies (fresh Passed, or N/A where
	// the policy allows it); Allow may also be true by the group's mode.
	Trusted bool      `json:"trusted"`
	Checked time.Time `json:"checked_at"`
}

// Decide answers a placement question from the host's stored state and its
// group's policy. It reads, never writes (see Placement).
func Decide(h store.Host, p *policy.Policy, now time.Time) Decision {
	d := Decision{Host: h.Name, Status: h.Status, Mode: p.Enforcement, Checked: now}
	if h.Status != store.StatusPassed {
		d.ReasonCode = h.ReasonCode
	}
	trusted := false
	switch h.Status {
	case store.StatusPassed:
		age := time.Duration(0)
		if h.LastAttested != nil {
			age = now.Sub(*h.LastAttested)
		}
		d.Fresh = h.LastAttested != nil && age <= p.VerdictMaxAge
		if d.Fresh {
			trusted = true
			d.Reason = "host passed attestation " + age.Round(time.Second).String() + " ago"
		} else {
			d.Reason = fmt.Sprintf("host's last Passed verdict is stale (older than %s)", p.VerdictMaxAge)
		}
	case store.StatusNA:
		trusted = p.NAAllowed
		d.Reason = "host has no TPM 2.0 and cannot attest"
		if p.NAAllowed {
			d.Reason += "; the group's policy allows such hosts"
		}
	case store.StatusFailed:
		d.Reason = "host failed attestation: " + h.Reason
	case store.StatusUnreachable:
		d.Reason = "host is unreachable: no evidence for too long"
	default:
		d.Reason = "host has not attested yet"
	}
	d.Trusted = trusted
	switch {
	case trusted:
		d.Allow = true
	case p.Enforcement == policy.EnforceWarn:
		d.Allow = true
		d.Reason = "WARN (not enforced): " + d.Reason
	case p.Enforcement == policy.EnforceOff:
		d.Allow = true
		d.Reason = "enforcement off: " + d.Reason
	}
	return d
}

// Placement decides for a host, records every deny in the audit log, and
// counts warn-mode allowances.
func (v *Verifier) Placement(ctx context.Context, actor, name string) (Decision, error) {
	h, err := v.host(ctx, name)
	if err != nil {
		return Decision{}, err
	}
	p, err := v.policies.get(ctx, h.Group)
	if err != nil {
		return Decision{}, err
	}
	d := Decide(h, p, v.now())
	switch {
	case !d.Allow:
		v.metrics.PlacementDenied.WithLabelValues(h.Status).Inc()
		v.audit(ctx, actor, "placement.deny", name, d.Reason)
	case p.Enforcement == policy.EnforceWarn && !d.Trusted:
		v.metrics.PlacementWarn.Inc()
		v.log.Warn("placement allowed in warn mode", "host", name, "reason", d.Reason)
		v.audit(ctx, actor, "placement.warn", name, d.Reason)
		v.queuePlacementWarning(ctx, h, d)
	}
	return d, nil
}

// queuePlacementWarning queues the placement.warn webhook, when receivers
// are configured.
func (v *Verifier) queuePlacementWarning(ctx context.Context, h store.Host, d Decision) {
	if !v.cfg.Webhooks {
		return
	}
	now := v.now()
	payload, _ := json.Marshal(map[string]any{"event": "placement.warn", "host": h.Name, "group": h.Group,
		"status": h.Status, "reason": d.Reason, "at": now})
	if err := v.st.EnqueueDelivery(ctx, store.WebhookDelivery{Event: "placement.warn", Payload: payload,
		CreatedAt: now, NextAttemptAt: now}); err != nil {
		v.log.Error("queue placement warning webhook", "host", h.Name, "err", err)
	}
}

// TrustToken issues a signed statement of a host's current status.
func (v *Verifier) TrustToken(ctx context.Context, name, audience string) (string, *trusttoken.Claims, error) {
	h, err := v.host(ctx, name)
	if err != nil {
		return "", nil, err
	}
	g, err := v.st.GetGroup(ctx, h.Group)
	if err != nil {
		return "", nil, fmt.Errorf("group of %s: %w", name, err)
	}
	p, err := v.policies.get(ctx, h.Group)
	if err != nil {
		return "", nil, err
	}
	now := v.now()
	d := Decide(h, p, now)
	c := trusttoken.Claims{Issuer: v.cfg.Issuer, Subject: name, Audience: audience, IssuedAt: now.Unix(),
		NotBefore: now.Unix(), Expiry: now.Add(v.cfg.TrustTokenTTL).Unix(), Status: h.Status, Group: h.Group,
		PolicyHash: PolicyHash(g.Policy), ReasonCode: h.ReasonCode, Reason: h.Reason, Placement: "deny"}
	if d.Allow {
		c.Placement = "allow"
	}
	if h.LastAttested != nil {
		c.Appraised = h.LastAttested.Unix()
		// A token never outlives the freshness of the verdict it states.
		if lim := h.LastAttested.Add(p.VerdictMaxAge).Unix(); h.Status == store.StatusPassed && lim < c.Expiry {
			c.Expiry = max(lim, now.Unix())
		}
	}
	tok, err := v.cfg.Tokens.Issue(c)
	return tok, &c, err
}
