package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/httpsurl"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/wire"
)

// Config is what an agent needs. Sources are functions so that a real host
// reads its files afresh for every attestation and an emulated host hands
// over what its boot produced.
type Config struct {
	// VerifierURL is the verifier's base URL (https://host:port).
	VerifierURL string
	// CAPEM is the verifier's CA certificate, pinned for every connection.
	CAPEM []byte
	// StateDir keeps the agent's identity across restarts.
	StateDir string
	// Host is the name the host enrols under.
	Host string
	// JoinToken is needed only for the first enrolment.
	JoinToken string
	// TPM is the host's TPM 2.0, or nil when Family says it has none.
	TPM TPM
	// Family is wire.FamilyTPM20, FamilyTPM12 or FamilyNone.
	Family string
	// EventLog returns the firmware event log (nil for no TPM 2.0).
	EventLog func() ([]byte, error)
	// Bundles returns the installed bundle files (may be nil).
	Bundles func() ([][]byte, error)
	// Once makes Run enrol if needed, attest once and return.
	Once bool
	// NewAK makes the agent prove a new AK at start instead of loading the
	// saved one: for a TPM that loses its state at every start (the
	// emulated hosts' simulator), whose counters start again each time.
	NewAK bool
	// Log receives the agent's progress; nil discards it.
	Log *slog.Logger
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries (default 60 s).
	MaxBackoff time.Duration
	// OnResult, when set, is called with each verdict the verifier returns.
	OnResult func(wire.EvidenceResult)
}

// Agent attests one host.
type Agent struct {
	cfg Config
	log *slog.Logger
	id  *identity
	ak  AK
	api *client
	// heldLog is the hash of the event log the verifier last said it holds
	// for this host ("" when none): while the log is unchanged the agent
	// sends the hash in its place.
	heldLog atomic.Pointer[string]
	// heldBundles are the hashes of the bundle files the verifier last said
	// it holds for this host, in order (nil when none): while the files
	// are the same the agent sends the hashes in their place.
	heldBundles atomic.Pointer[[]string]
}

// New checks the configuration and returns an agent.
func New(cfg Config) (*Agent, error) {
	var errs []error
	if cfg.VerifierURL == "" {
		errs = append(errs, errors.New("verifier URL is required"))
	} else if _, err := httpsurl.Check("verifier URL", cfg.VerifierURL); err != nil {
		// The join token and the evidence go to this URL.
		errs = append(errs, err)
	}
	if len(cfg.CAPEM) == 0 {
		errs = append(errs, errors.New("verifier CA certificate is required (the agent pins it)"))
	}
	if cfg.StateDir == "" {
		errs = append(errs, errors.New("state directory is required"))
	}
	if cfg.Host == "" {
		errs = append(errs, errors.New("host name is required"))
	}
	switch cfg.Family {
	case wire.FamilyTPM20:
		if cfg.TPM == nil {
			errs = append(errs, errors.New("TPM 2.0 host without a TPM device"))
		}
	case wire.FamilyTPM12, wire.FamilyNone:
	default:
		errs = append(errs, fmt.Errorf("unknown TPM family %q", cfg.Family))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Minute
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg, log: log.With("host", cfg.Host)}, nil
}

// Run enrols the host if needed, then attests at start, at the verifier's
// interval, and whenever the verifier asks, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.ensureEnrolled(ctx); err != nil {
		return err
	}
	defer a.api.close()
	interval := 5 * time.Minute
	backoff := newBackoff(a.cfg.MaxBackoff)
	for {
		res, err := a.attestOnce(ctx)
		if a.cfg.Once {
			return err
		}
		if err != nil {
			var refused *RefusedError
			if errors.As(err, &refused) && refused.Code == "host_unknown" {
				return fmt.Errorf("verifier no longer knows this host; re-enrol with a new join token: %w", err)
			}
			a.log.Warn("attestation failed; will retry", "err", err)
			if !sleep(ctx, retryWait(err, backoff)) {
				return ctx.Err()
			}
			continue
		}
		backoff.reset()
		if res.IntervalSeconds > 0 {
			interval = time.Duration(res.IntervalSeconds) * time.Second
		}
		if err := a.waitForTurn(ctx, interval); err != nil {
			return err
		}
	}
}

// waitForTurn returns when the interval has passed (with jitter, so a fleet
// restarted at once spreads out) or the verifier asks for evidence now.
func (a *Agent) waitForTurn(ctx context.Context, interval time.Duration) error {
	deadline := time.Now().Add(jitter(interval))
	backoff := newBackoff(a.cfg.MaxBackoff)
	// Each wait asks for all the time left; the verifier answers at its
	// own bound (10 minutes by default) or sooner, so a fleet makes about
	// one wait per host per attestation. A wait outlives the per-request
	// timeout, so it goes through a client on the same transport (the same
	// kept-alive connection, on which the nonce follows) bounded by the
	// wait itself plus that timeout.
	long := &client{base: a.api.base, http: &http.Client{Transport: a.api.http.Transport}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		var w wire.WaitResponse
		wctx, cancel := context.WithTimeout(ctx, left+a.cfg.Timeout)
		err := long.do(wctx, "GET", fmt.Sprintf("/agent/v1/wait?timeout=%d", max(left.Milliseconds(), 1)), nil, &w)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// The verifier is away or busy: keep to the schedule, but do
			// not spin.
			a.log.Debug("wait for attest request", "err", err)
			if !sleep(ctx, min(retryWait(err, backoff), max(time.Until(deadline), 0))) {
				return ctx.Err()
			}
			continue
		}
		backoff.reset()
		if w.Attest {
			a.log.Info("verifier asked for evidence now")
			return nil
		}
		if w.RetryAfterSeconds > 0 {
			// The verifier holds no wait for this host now (it is at its
			// bound): do not ask again before the hint or the turn.
			a.log.Debug("verifier holds no wait; waiting for the turn", "retry_after_seconds", w.RetryAfterSeconds)
			if !sleep(ctx, min(time.Duration(w.RetryAfterSeconds)*time.Second, max(time.Until(deadline), 0))) {
				return ctx.Err()
			}
		}
	}
}

func (a *Agent) ensureEnrolled(ctx context.Context) error {
	id, err := loadIdentity(a.cfg.StateDir)
	if err != nil {
		return err
	}
	if id != nil && id.Host != a.cfg.Host {
		return fmt.Errorf("state directory %s belongs to host %q, not %q", a.cfg.StateDir, id.Host, a.cfg.Host)
	}
	justEnrolled := false
	if id == nil || !id.enrolled() {
		justEnrolled = true
		backoff := newBackoff(a.cfg.MaxBackoff)
		for {
			id, err = a.enroll(ctx)
			if err == nil {
				break
			}
			var refused *RefusedError
			if errors.As(err, &refused) || ctx.Err() != nil {
				return fmt.Errorf("enrol %s: %w", a.cfg.Host, err)
			}
			a.log.Warn("enrolment failed; will retry", "err", err)
			if !sleep(ctx, backoff.next()) {
				return ctx.Err()
			}
		}
		a.log.Info("enrolled", "verifier", a.cfg.VerifierURL)
	}
	a.id = id
	cert, err := tls.X509KeyPair(id.ClientCertPEM, id.ClientKeyPEM)
	if err != nil {
		return fmt.Errorf("client certificate in %s: %w", a.cfg.StateDir, err)
	}
	a.api, err = newClient(a.cfg.VerifierURL, id.VerifierCAPEM, &cert, a.cfg.Timeout)
	if err != nil {
		return err
	}
	if a.cfg.Family != wire.FamilyTPM20 {
		return nil
	}
	// An AK proven by this run's enrolment is as fresh as a new one.
	if !a.cfg.NewAK || justEnrolled {
		if a.ak, err = a.cfg.TPM.LoadAK(id.AKBlob); err == nil {
			return nil
		}
		a.log.Warn("the saved AK does not load in this TPM (was the TPM cleared?); proving a new one", "err", err)
	}
	backoff := newBackoff(a.cfg.MaxBackoff)
	for {
		err := a.reactivate(ctx)
		if err == nil {
			return nil
		}
		var refused *RefusedError
		if errors.As(err, &refused) || ctx.Err() != nil {
			return fmt.Errorf("re-activate the AK of %s: %w", a.cfg.Host, err)
		}
		a.log.Warn("AK re-activation failed; will retry", "err", err)
		if !sleep(ctx, backoff.next()) {
			return ctx.Err()
		}
	}
}

// reactivate makes a new AK and proves to the verifier, by credential
// activation against the EK it enrolled, that the AK is in the same TPM.
func (a *Agent) reactivate(ctx context.Context) (err error) {
	ak, err := a.cfg.TPM.CreateAK()
	if err != nil {
		return fmt.Errorf("create AK: %w", err)
	}
	defer func() {
		// A failed attempt must not leave its AK loaded: the TPM has few
		// object slots and the next attempt makes a new one.
		if c, ok := ak.(io.Closer); ok && err != nil {
			c.Close()
		}
	}()
	var ch wire.EnrollChallenge
	if err := a.api.do(ctx, "POST", "/agent/v1/reactivate", wire.ReactivateRequest{AKPublic: ak.Public()}, &ch); err != nil {
		return err
	}
	secret, err := a.cfg.TPM.ActivateCredential(ak, ch.CredentialBlob, ch.EncryptedSeed)
	if err != nil {
		return fmt.Errorf("activate credential: %w", err)
	}
	var res wire.EnrollResult
	if err := a.api.do(ctx, "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ch.ChallengeID, Secret: secret}, &res); err != nil {
		return err
	}
	a.id.AKBlob = ak.Blob()
	if err := a.id.save(a.cfg.StateDir); err != nil {
		return err
	}
	a.ak = ak
	a.log.Info("new AK proven to the verifier")
	return nil
}

// enroll runs the enrolment protocol once.
func (a *Agent) enroll(ctx context.Context) (*identity, error) {
	if a.cfg.JoinToken == "" {
		return nil, &RefusedError{Code: "join_token_required", Message: "this host is not enrolled: give it a join token"}
	}
	keyPEM, pubDER, err := pki.NewClientKey()
	if err != nil {
		return nil, err
	}
	id := &identity{Host: a.cfg.Host, VerifierURL: a.cfg.VerifierURL, TPMFamily: a.cfg.Family,
		ClientKeyPEM: keyPEM, VerifierCAPEM: a.cfg.CAPEM}
	req := wire.EnrollRequest{ProtocolVersion: wire.ProtocolVersion, JoinToken: a.cfg.JoinToken,
		Host: a.cfg.Host, TPMFamily: a.cfg.Family, ClientPublicKey: pubDER}
	var ak AK
	if a.cfg.Family == wire.FamilyTPM20 {
		req.EKPublic, req.EKCert, err = a.cfg.TPM.EK()
		if err != nil {
			return nil, fmt.Errorf("read EK: %w", err)
		}
		ak, err = a.cfg.TPM.CreateAK()
		if err != nil {
			return nil, fmt.Errorf("create AK: %w", err)
		}
		// Unload it when this attempt ends: Run loads it again from its
		// blob, and an attempt that fails (verifier not reachable yet)
		// must not keep it loaded, or the retries fill the TPM's object
		// slots and every later attempt fails with TPM_RC_OBJECT_MEMORY.
		if c, ok := ak.(io.Closer); ok {
			defer c.Close()
		}
		req.AKPublic = ak.Public()
		id.AKBlob = ak.Blob()
	}
	api, err := newClient(a.cfg.VerifierURL, a.cfg.CAPEM, nil, a.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	defer api.close()
	var ans wire.EnrollAnswer
	if err := api.do(ctx, "POST", "/agent/v1/enroll", req, &ans); err != nil {
		return nil, err
	}
	result := ans.Result
	if ans.Challenge != nil {
		if ak == nil {
			return nil, errors.New("verifier sent a credential challenge to a host without a TPM 2.0")
		}
		secret, err := a.cfg.TPM.ActivateCredential(ak, ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
		if err != nil {
			return nil, fmt.Errorf("activate credential: %w", err)
		}
		result = new(wire.EnrollResult)
		if err := api.do(ctx, "POST", "/agent/v1/activate",
			wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}, result); err != nil {
			return nil, err
		}
	}
	if result == nil || len(result.ClientCertPEM) == 0 {
		return nil, errors.New("verifier sent no client certificate")
	}
	id.ClientCertPEM = result.ClientCertPEM
	if len(result.VerifierCAPEM) > 0 {
		id.VerifierCAPEM = result.VerifierCAPEM
	}
	if err := id.save(a.cfg.StateDir); err != nil {
		return nil, err
	}
	return id, nil
}

// retryWait is how long to wait before trying again: what a busy verifier
// asked for (spread by jitter, so a shed crowd does not return at once), or
// the next backoff step.
func retryWait(err error, b *backoff) time.Duration {
	var busy *BusyError
	if errors.As(err, &busy) {
		return busy.RetryAfter + time.Duration(rand.Int64N(int64(busy.RetryAfter)+1))
	}
	return b.next()
}

func jitter(d time.Duration) time.Duration {
	// ±10%: enough to spread a fleet that started at the same second.
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type backoff struct {
	cur, max time.Duration
}

func newBackoff(maxWait time.Duration) *backoff { return &backoff{max: maxWait} }

// next returns the next wait: exponential from 500 ms with full jitter.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = 500 * time.Millisecond
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur/2 + time.Duration(rand.Int64N(int64(b.cur/2)+1))
}

func (b *backoff) reset() { b.cur = 0 }
