package verifier

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/memo"
	"github.com/bootproof/bootproof/internal/metrics"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// Config wires a Verifier. Store, CA and Tokens are required.
type Config struct {
	Store   store.Store
	CA      *pki.CA
	Tokens  *trusttoken.Signer
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Now     func() time.Time
	Rand    io.Reader
	// EKTrust holds the TPM makers' CAs an EK certificate must chain to.
	EKTrust *enroll.TrustStore
	// PinnedEKs are hex SHA-256 digests of EK public areas an operator
	// trusts without a certificate.
	PinnedEKs map[string]bool
	// Issuer names this verifier (fleet) in trust tokens.
	Issuer string
	// ReplicaID names this process among replicas (leases, logs).
	ReplicaID string
	// Webhooks says that webhook receivers are configured: only then are
	// status changes and placement warnings queued for delivery. Without
	// receivers every queued row was written, claimed and marked delivered
	// to no one: at a fleet's first attestations, one per host (100,000
	// rows whose draining was PostgreSQL's costliest statement in a load
	// run, about a quarter of its statement time). Replicas share one outbox, so they are meant to share
	// their webhook configuration too.
	Webhooks bool
	// DefaultGroup receives hosts whose join token names no group.
	DefaultGroup string
	// NonceTTL bounds how long an agent may take to answer a nonce.
	NonceTTL time.Duration
	// ClientCertValidity is how long an agent's client certificate lasts.
	ClientCertValidity time.Duration
	// TrustTokenTTL is the lifetime of a trust token.
	TrustTokenTTL time.Duration
	// SummaryRetention is how long per-attestation summaries are kept.
	SummaryRetention time.Duration
	// Storage bounds the status-change evidence kept (storage.go).
	Storage StorageLimits
}

// Verifier enrols, appraises and records.
type Verifier struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics.Metrics

	policies policyCache
	waiters  waiters
	// bundles remembers bundle files that verified, for every appraisal.
	bundles *appraisal.BundleMemo
	// logs remembers recent event logs by SHA-256, for evidence that names
	// its log by hash (heldlog.go).
	logs *memo.Bounded[string, []byte]
	// bundleFiles remembers recent bundle files by SHA-256, for evidence
	// that names its bundles by hash (heldbundles.go).
	bundleFiles *memo.Bounded[string, []byte]
	storage     storageState
	// health caches store probes and keeps the last write's time
	// (storehealth.go).
	health storeHealth
	// previewing is set while a policy preview runs (preview.go).
	previewing atomic.Bool
}

// New checks cfg and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if cfg.CA == nil {
		errs = append(errs, errors.New("CA is required"))
	}
	if cfg.Tokens == nil {
		errs = append(errs, errors.New("trust token signer is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("verifier config: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.EKTrust == nil {
		cfg.EKTrust = &enroll.TrustStore{}
	}
	if cfg.DefaultGroup == "" {
		cfg.DefaultGroup = "default"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "bootproof"
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = 2 * time.Minute
	}
	if cfg.ClientCertValidity == 0 {
		cfg.ClientCertValidity = 5 * 365 * 24 * time.Hour
	}
	if cfg.TrustTokenTTL == 0 {
		cfg.TrustTokenTTL = 10 * time.Minute
	}
	if cfg.SummaryRetention == 0 {
		cfg.SummaryRetention = 7 * 24 * time.Hour
	}
	cfg.Storage.setDefaults()
	v := &Verifier{cfg: cfg, st: cfg.Store, log: cfg.Log, now: cfg.Now, metrics: cfg.Metrics}
	v.policies.st = cfg.Store
	v.policies.now = cfg.Now
	v.bundles = appraisal.NewBundleMemo(appraisal.DefaultBundleMemoEntries)
	v.logs = memo.New[string, []byte](heldLogMemoEntries)
	v.bundleFiles = memo.New[string, []byte](heldBundleMemoEntries)
	return v, nil
}

// Store returns the verifier's store, for read-only adapters (report, API).
func (v *Verifier) Store() store.Store { return v.st }

// EnsureGroup creates a group with the default policy if it does not exist.
func (v *Verifier) EnsureGroup(ctx context.Context, name string) error {
	if _, err := v.st.GetGroup(ctx, name); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := CheckGroupName(name); err != nil {
		return err
	}
	b, err := policy.Default().Marshal()
	if err != nil {
		return err
	}
	now := v.now()
	err = v.st.PutGroup(ctx, store.Group{Name: name, Policy: b, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("create group %s: %w", name, err)
	}
	return nil
}

// policyCache keeps parsed group policies for a short time, so the hot path
// does not parse YAML per attestation; replicas see a change within ttl.
type policyCache struct {
	st  store.Store
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedPolicy
}

type cachedPolicy struct {
	p       *policy.Policy
	version int // the group's PolicyVersion p is
	updated time.Time
	fetched time.Time
}

const policyTTL = 2 * time.Second

func (c *policyCache) get(ctx context.Context, group string) (*policy.Policy, error) {
	p, _, err := c.getVersion(ctx, group)
	return p, err
}

// getVersion is get with the version the policy is (0: the default policy
// of a group not stored).
func (c *policyCache) getVersion(ctx context.Context, group string) (*policy.Policy, int, error) {
	now := c.now()
	c.mu.Lock()
	cp, ok := c.m[group]
	c.mu.Unlock()
	if ok && now.Sub(cp.fetched) < policyTTL {
		return cp.p, cp.version, nil
	}
	g, err := c.st.GetGroup(ctx, group)
	if errors.Is(err, store.ErrNotFound) {
		return policy.Default(), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load policy of group %s: %w", group, err)
	}
	p := cp.p
	if !ok || !g.UpdatedAt.Equal(cp.updated) || g.PolicyVersion != cp.version {
		p, err = policy.Parse(g.Policy)
		if err != nil {
			return nil, 0, fmt.Errorf("policy of group %s: %w", group, err)
		}
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]cachedPolicy)
	}
	c.m[group] = cachedPolicy{p: p, version: g.PolicyVersion, updated: g.UpdatedAt, fetched: now}
	c.mu.Unlock()
	return p, g.PolicyVersion, nil
}

func (c *policyCache) invalidate(group string) {
	c.mu.Lock()
	delete(c.m, group)
	c.mu.Unlock()
}

// Policy returns a group's current policy.
func (v *Verifier) Policy(ctx context.Context, group string) (*policy.Policy, error) {
	return v.policies.get(ctx, group)
}

func (v *Verifier) audit(ctx context.Context, actor, action, target, detail string) {
	err := v.st.AppendAudit(ctx, store.AuditEntry{At: v.now(), Actor: actor, Action: action, Target: target, Detail: detail})
	if err != nil {
		v.log.Error("write audit entry", "action", action, "target", target, "err", err)
	}
}
