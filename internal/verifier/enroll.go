package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidHostName reports whether s may name a host.
func ValidHostName(s string) bool { return hostNameRE.MatchString(s) }

// Enroll starts enrolment. It checks the join token (spent only when the
// enrolment succeeds), the EK's provenance and the host's identity, and
// challenges the TPM to prove that the AK lives beside the EK. Nothing is
// recorded about an EK before that proof (Activate).
func (v *Verifier) Enroll(ctx context.Context, req wire.EnrollRequest) (*wire.EnrollAnswer, error) {
	ans, err := v.enroll(ctx, req)
	outcome := "challenged"
	if e, ok := AsError(err); ok {
		outcome = e.Code
	} else if err != nil {
		outcome = "error"
	} else if ans.Result != nil {
		outcome = "enrolled"
	}
	v.metrics.Enrolments.WithLabelValues(outcome).Inc()
	if e, ok := AsError(err); ok {
		v.log.Warn("enrolment refused", "host", req.Host, "code", e.Code, "reason", e.Message)
	}
	return ans, err
}

func (v *Verifier) enroll(ctx context.Context, req wire.EnrollRequest) (*wire.EnrollAnswer, error) {
	if !ValidHostName(req.Host) {
		return nil, refuse(KindInvalid, "enroll.host_name", "host name %q is not valid (letters, digits, '.', '_', '-'; at most 128)", req.Host)
	}
	if len(req.ClientPublicKey) == 0 {
		return nil, refuse(KindInvalid, "enroll.client_key", "the request carries no client public key")
	}
	switch req.TPMFamily {
	case wire.FamilyTPM20, wire.FamilyTPM12, wire.FamilyNone:
	default:
		return nil, refuse(KindInvalid, "enroll.tpm_family", "unknown TPM family %q", req.TPMFamily)
	}
	if req.TPMFamily == wire.FamilyTPM20 && (len(req.EKPublic) == 0 || len(req.AKPublic) == 0) {
		return nil, refuse(KindInvalid, "enroll.keys", "a TPM 2.0 host must send its EK and AK public areas")
	}
	// N/A is decided here and only here: by enrolling without a TPM 2.0
	// EK. A request that carries TPM keys yet claims another family is
	// refused rather than taken as either.
	if req.TPMFamily != wire.FamilyTPM20 && (len(req.EKPublic) > 0 || len(req.EKCert) > 0 || len(req.AKPublic) > 0) {
		return nil, refuse(KindInvalid, "enroll.tpm_family", "the request claims TPM family %q but carries TPM 2.0 keys; a host with a TPM 2.0 enrols as \"2.0\"", req.TPMFamily)
	}
	jt, err := v.joinToken(ctx, req.JoinToken, req.Host, false)
	if err != nil {
		return nil, err
	}
	group := jt.Group
	if group == "" {
		group = v.cfg.DefaultGroup
	}
	if err := v.EnsureGroup(ctx, group); err != nil {
		return nil, err
	}
	if req.TPMFamily != wire.FamilyTPM20 {
		res, err := v.admitWithoutTPM(ctx, req, group)
		if err != nil {
			return nil, err
		}
		return &wire.EnrollAnswer{Result: res}, nil
	}
	ch, err := v.challengeTPM(ctx, req, group)
	if err != nil {
		return nil, err
	}
	return &wire.EnrollAnswer{Challenge: ch}, nil
}

// joinTokenPrefix marks join tokens, so they are not confused with API tokens.
const joinTokenPrefix = "bpj_"

// joinTokenID derives a token's ID from its secret: knowing the ID needs
// the secret, so an ID seen in a list or a log cannot be used to enrol.
func joinTokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:16])
}

// joinToken checks that token may enrol host and, with spend, spends it
// (exactly one caller wins). An enrolment checks its token when it starts
// and spends it only when credential activation succeeded, so a refused
// enrolment (untrusted EK, failed activation) leaves the token usable.
func (v *Verifier) joinToken(ctx context.Context, token, host string, spend bool) (store.JoinToken, error) {
	secret, ok := strings.CutPrefix(strings.TrimSpace(token), joinTokenPrefix)
	if !ok || len(secret) < 32 || len(secret) > 128 {
		return store.JoinToken{}, refuse(KindUnauthorized, "enroll.join_token_invalid", "the join token is missing or malformed")
	}
	// Check the host binding before spending: a token bound to another
	// host stays that host's.
	jt, err := v.st.CheckJoinToken(ctx, joinTokenID(secret), v.now())
	if err == nil && jt.Host != "" && jt.Host != host {
		return jt, refuse(KindForbidden, "enroll.join_token_host", "this join token is for host %q, not %q", jt.Host, host)
	}
	if err == nil && spend {
		jt, err = v.st.UseJoinToken(ctx, joinTokenID(secret), host, v.now())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return jt, refuse(KindUnauthorized, "enroll.join_token_invalid", "the join token is not known to this verifier")
	case errors.Is(err, store.ErrExpired):
		return jt, refuse(KindUnauthorized, "enroll.join_token_expired", "the join token has expired; ask an operator for a new one")
	case errors.Is(err, store.ErrUsed):
		return jt, refuse(KindUnauthorized, "enroll.join_token_used", "the join token was already used; join tokens are single-use")
	case err != nil:
		return jt, fmt.Errorf("use join token: %w", err)
	}
	return jt, nil
}

// admitWithoutTPM enrols a host with a TPM 1.2 or none: it will be N/A.
func (v *Verifier) admitWithoutTPM(ctx context.Context, req wire.EnrollRequest, group string) (*wire.EnrollResult, error) {
	now := v.now()
	cert, fp, err := v.clientCert(req.Host, req.ClientPublicKey)
	if err != nil {
		return nil, err
	}
	h := store.Host{Name: req.Host, Group: group, TPMFamily: req.TPMFamily, EnrolledAt: now,
		Status: store.StatusPending, StatusSince: now, ClientCertSHA256: fp}
	if _, err := v.st.GetHost(ctx, req.Host); err == nil {
		return nil, errHostExistsNoTPM(req.Host)
	}
	if _, err := v.joinToken(ctx, req.JoinToken, req.Host, true); err != nil {
		return nil, err
	}
	if err := v.st.CreateHost(ctx, h); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errHostExistsNoTPM(req.Host)
		}
		return nil, fmt.Errorf("create host %s: %w", req.Host, err)
	}
	v.audit(ctx, "host:"+req.Host, "host.enrol", req.Host, "TPM family "+req.TPMFamily+", group "+group)
	return &wire.EnrollResult{Host: req.Host, ClientCertPEM: cert, VerifierCAPEM: v.cfg.CA.CertPEM()}, nil
}

func errHostExistsNoTPM(host string) error {
	return refuse(KindConflict, "enroll.host_exists", "host %q is already enrolled; remove it first to enrol it again without a TPM 2.0", host)
}

// EKDigest is how the store indexes an EK: hex SHA-256 of its TPMT_PUBLIC.
func EKDigest(ekPub []byte) string {
	sum := sha256.Sum256(ekPub)
	return hex.EncodeToString(sum[:])
}

func (v *Verifier) challengeTPM(ctx context.Context, req wire.EnrollRequest, group string) (*wire.EnrollChallenge, error) {
	ekDigest := EKDigest(req.EKPublic)
	if err := v.checkEKProvenance(req, ekDigest); err != nil {
		return nil, err
	}
	// A known host with another EK is challenged too: the pending EK change
	// is recorded only once activation proves the caller holds that TPM.
	if _, err := v.checkIdentity(ctx, req, ekDigest); err != nil {
		return nil, err
	}
	return v.challenge(ctx, req, group)
}

// challenge makes the credential challenge for req's AK, encrypted to
// req's EK, and stores a hash of the secret with the request that Activate
// completes once the TPM has recovered the secret.
func (v *Verifier) challenge(ctx context.Context, req wire.EnrollRequest, group string) (*wire.EnrollChallenge, error) {
	secret, blob, seed, err := enroll.MakeChallenge(req.EKPublic, req.AKPublic, v.cfg.Rand)
	if err != nil {
		return nil, refuse(KindInvalid, "enroll.ak_refused", "the AK cannot be challenged: %v", err)
	}
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	if _, err := v.cfg.Rand.Read(id); err != nil {
		return nil, fmt.Errorf("challenge id: %w", err)
	}
	sum := sha256.Sum256(secret)
	c := store.Challenge{ID: hex.EncodeToString(id), Host: req.Host, Group: group, Request: reqJSON,
		SecretHash: sum[:], ExpiresAt: v.now().Add(v.cfg.NonceTTL)}
	if err := v.st.PutChallenge(ctx, c); err != nil {
		return nil, fmt.Errorf("store challenge: %w", err)
	}
	return &wire.EnrollChallenge{ChallengeID: c.ID, CredentialBlob: blob, EncryptedSeed: seed}, nil
}

// checkEKProvenance accepts an EK pinned by an operator or one whose
// certificate chains to a trusted TPM maker CA.
func (v *Verifier) checkEKProvenance(req wire.EnrollRequest, ekDigest string) error {
	if v.cfg.PinnedEKs[ekDigest] {
		return nil
	}
	if len(req.EKCert) == 0 {
		return refuse(KindForbidden, "enroll.ek_untrusted", "the TPM sent no EK certificate and its EK (sha256 %s) is not pinned", ekDigest)
	}
	if err := enroll.VerifyEKCert(req.EKCert, req.EKPublic, v.cfg.EKTrust, v.now()); err != nil {
		return refuse(KindForbidden, "enroll.ek_untrusted", "the EK certificate is not trusted: %v", err)
	}
	return nil
}

// checkIdentity refuses an EK already enrolled under another name and a
// known name enrolled without a TPM 2.0. It reports whether req is a known
// host arriving with another EK: an EK change, which only an operator may
// approve (recordPendingEK).
func (v *Verifier) checkIdentity(ctx context.Context, req wire.EnrollRequest, ekDigest string) (ekChange bool, err error) {
	other, err := v.st.GetHostByEK(ctx, ekDigest)
	switch {
	case err == nil && other.Name != req.Host:
		return false, refuse(KindConflict, "enroll.ek_in_use", "this TPM (EK) is already enrolled as host %q", other.Name)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("look up EK: %w", err)
	}
	h, err := v.st.GetHost(ctx, req.Host)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up host %s: %w", req.Host, err)
	case h.TPMFamily != store.TPMFamily20:
		return false, refuse(KindConflict, "enroll.host_exists", "host %q is enrolled without a TPM 2.0; remove it first", req.Host)
	}
	return h.EKDigest != ekDigest, nil
}

// recordPendingEK keeps a known host's new EK for an operator to approve
// (ApproveEK). It is called only after credential activation proved that
// the caller holds that TPM, so a join token and some other TPM's public EK
// and certificate cannot replace a genuine replacement's pending EK. The
// join token is checked but not spent: the enrolment was refused, and the
// host enrols with it again once the change is approved.
func (v *Verifier) recordPendingEK(ctx context.Context, req wire.EnrollRequest, ekDigest string) error {
	if _, err := v.joinToken(ctx, req.JoinToken, req.Host, false); err != nil {
		return err
	}
	var replaced string
	_, err := v.st.UpdateHost(ctx, req.Host, func(h *store.Host) error {
		if len(h.PendingEKPublic) > 0 && EKDigest(h.PendingEKPublic) != ekDigest {
			replaced = EKDigest(h.PendingEKPublic)
		}
		now := v.now()
		h.PendingEKPublic, h.PendingEKCert, h.PendingEKAt = req.EKPublic, req.EKCert, &now
		return nil
	})
	if err != nil {
		return fmt.Errorf("record pending EK of %s: %w", req.Host, err)
	}
	detail := "new EK " + EKRef(ekDigest) + " proven by credential activation awaits operator approval"
	if replaced != "" {
		detail += "; it replaces the pending EK " + EKRef(replaced)
	}
	v.audit(ctx, "host:"+req.Host, "host.ek_change_refused", req.Host, detail)
	return refuse(KindConflict, "enroll.ek_changed", "host %q is enrolled with another TPM (EK); an operator must approve the change "+
		"(bootproof hosts approve-ek %s --ek %s)", req.Host, req.Host, EKRef(ekDigest))
}

// Reactivate challenges a new AK for an enrolled TPM 2.0 host against the
// EK it enrolled with. When the host answers, the new AK replaces the old
// one and the TPM clock baseline starts afresh (a TPM that lost its state
// starts its counters again); the host's identity is otherwise unchanged.
func (v *Verifier) Reactivate(ctx context.Context, h store.Host, akPub []byte) (*wire.EnrollChallenge, error) {
	if h.TPMFamily != store.TPMFamily20 || len(h.EKPublic) == 0 {
		return nil, refuse(KindConflict, "enroll.no_tpm", "host %q is not enrolled with a TPM 2.0", h.Name)
	}
	// A request without a client key marks a re-activation: Activate then
	// replaces the AK instead of admitting a host.
	return v.challenge(ctx, wire.EnrollRequest{Host: h.Name, TPMFamily: wire.FamilyTPM20, EKPublic: h.EKPublic, AKPublic: akPub}, h.Group)
}

func (v *Verifier) replaceAK(ctx context.Context, req wire.EnrollRequest) (*wire.EnrollResult, error) {
	ekDigest := EKDigest(req.EKPublic)
	_, err := v.st.UpdateHost(ctx, req.Host, func(h *store.Host) error {
		if h.EKDigest != ekDigest {
			return refuse(KindConflict, "enroll.ek_changed", "host %q changed TPM during re-activation", req.Host)
		}
		h.AKPublic = req.AKPublic
		h.LastClock = store.ClockInfo{}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(KindForbidden, "host_unknown", "host %q is not enrolled", req.Host)
	}
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("replace AK of %s: %w", req.Host, err)
	}
	v.audit(ctx, "host:"+req.Host, "host.ak_replaced", req.Host, "new AK proven in the enrolled TPM by credential activation")
	v.log.Info("host AK replaced", "host", req.Host)
	return &wire.EnrollResult{Host: req.Host}, nil
}

// Activate finishes enrolment: the secret proves the AK is in the EK's TPM.
func (v *Verifier) Activate(ctx context.Context, req wire.ActivateRequest) (*wire.EnrollResult, error) {
	c, err := v.st.TakeChallenge(ctx, req.ChallengeID, v.now())
	if errors.Is(err, store.ErrNotFound) {
		v.metrics.Enrolments.WithLabelValues("enroll.challenge_unknown").Inc()
		return nil, refuse(KindUnauthorized, "enroll.challenge_unknown", "no such challenge, or it expired or was already answered")
	}
	if err != nil {
		return nil, fmt.Errorf("take challenge: %w", err)
	}
	sum := sha256.Sum256(req.Secret)
	if subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1 {
		v.metrics.Enrolments.WithLabelValues("enroll.activation_failed").Inc()
		v.audit(ctx, "host:"+c.Host, "host.activation_failed", c.Host, "credential activation answer was wrong")
		return nil, refuse(KindForbidden, "enroll.activation_failed", "credential activation failed: the AK is not in the TPM of the EK")
	}
	var er wire.EnrollRequest
	if err := json.Unmarshal(c.Request, &er); err != nil {
		return nil, fmt.Errorf("stored enrol request: %w", err)
	}
	if len(er.ClientPublicKey) == 0 {
		return v.replaceAK(ctx, er)
	}
	res, err := v.admitTPMHost(ctx, er, c.Group)
	if err == nil {
		v.metrics.Enrolments.WithLabelValues("enrolled").Inc()
	}
	return res, err
}

func (v *Verifier) admitTPMHost(ctx context.Context, req wire.EnrollRequest, group string) (*wire.EnrollResult, error) {
	// Check again: another enrolment may have won the name or the EK meanwhile.
	ekDigest := EKDigest(req.EKPublic)
	ekChange, err := v.checkIdentity(ctx, req, ekDigest)
	if err != nil {
		return nil, err
	}
	if ekChange {
		return nil, v.recordPendingEK(ctx, req, ekDigest)
	}
	cert, fp, err := v.clientCert(req.Host, req.ClientPublicKey)
	if err != nil {
		return nil, err
	}
	// Activation succeeded and nothing else refuses the host: only now is
	// the join token spent, exactly once however many enrolments race.
	if _, err := v.joinToken(ctx, req.JoinToken, req.Host, true); err != nil {
		return nil, err
	}
	now := v.now()
	h := store.Host{Name: req.Host, Group: group, TPMFamily: store.TPMFamily20, EKPublic: req.EKPublic,
		EKDigest: ekDigest, EKCert: req.EKCert, AKPublic: req.AKPublic, ClientCertSHA256: fp,
		EnrolledAt: now, Status: store.StatusPending, StatusSince: now}
	err = v.st.CreateHost(ctx, h)
	if errors.Is(err, store.ErrConflict) {
		// The same TPM enrolling again (its agent lost its state): new AK and
		// credential; the history stays. The AK change resets the clock check.
		_, err = v.st.UpdateHost(ctx, req.Host, func(h *store.Host) error {
			if h.EKDigest != ekDigest {
				return refuse(KindConflict, "enroll.ek_changed", "host %q is enrolled with another TPM (EK)", req.Host)
			}
			h.AKPublic, h.ClientCertSHA256, h.EnrolledAt = req.AKPublic, fp, now
			h.LastClock = store.ClockInfo{}
			return nil
		})
	}
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("store host %s: %w", req.Host, err)
	}
	v.audit(ctx, "host:"+req.Host, "host.enrol", req.Host, "TPM 2.0, EK sha256 "+ekDigest+", group "+group)
	v.log.Info("host enrolled", "host", req.Host, "group", group, "tpm", "2.0")
	return &wire.EnrollResult{Host: req.Host, ClientCertPEM: cert, VerifierCAPEM: v.cfg.CA.CertPEM()}, nil
}

func (v *Verifier) clientCert(host string, pubDER []byte) (certPEM []byte, fingerprint string, err error) {
	certPEM, err = v.cfg.CA.ClientCert(host, pubDER, v.now(), v.cfg.ClientCertValidity)
	if err != nil {
		return nil, "", refuse(KindInvalid, "enroll.client_key", "the client public key is not usable: %v", err)
	}
	b, _ := pem.Decode(certPEM)
	return certPEM, pki.Fingerprint(b.Bytes), nil
}
