package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/wire"
)

// host is one simulated, enrolled host. What it keeps is small (two keys,
// a certificate, a counter): the generator holds whole fleets in memory.
type host struct {
	name  string
	im    *Image
	tpm   *SimulatedTPM
	cert  tls.Certificate // the mTLS identity the verifier issued
	clock uint64          // TPM clock, ms; grows with every quote
	hc    *http.Client    // kept between attestations with Config.KeepAlive
	// mu makes a host's turns one at a time, as an agent's are: a turn
	// that outlasts the interval delays the next.
	mu sync.Mutex
	// conn is the connection the host holds between turns (Config.Park).
	conn *heldConn
	// sessions keeps the host's TLS session ticket, so a host that
	// reconnects for its next turn resumes its session (no certificate
	// signatures or chain checks), as the agent does.
	sessions tls.ClientSessionCache
	// heldLog is the hash of the event log the verifier said it holds for
	// the host: sent in the log's place while the log is the same.
	heldLog string
	// bundlesHeld is whether the verifier said it holds the host's bundle
	// files under their hashes (the image's): sent in their place. A bool
	// rather than the hashes, as the files never change.
	bundlesHeld bool
}

// enrolHost runs the enrolment protocol for one simulated host: a join
// token from the REST API (as an operator's tooling would), enrol with EK,
// EK certificate and AK, answer the credential challenge, keep the client
// certificate.
func (r *runner) enrolHost(ctx context.Context, name string, im *Image, maker *makerca.CA) (*host, error) {
	var jt api.JoinTokenResponse
	if err := call(ctx, r.enrolHTTP, "POST", r.base+"/api/v1/join-tokens", r.cfg.AdminToken,
		api.JoinTokenRequest{Group: r.cfg.Group, Host: name, TTL: "24h"}, &jt); err != nil {
		return nil, fmt.Errorf("join token for %s: %w", name, err)
	}
	sim, err := NewSimulatedTPM(r.cfg.EK, r.cfg.AK, maker, name)
	if err != nil {
		return nil, err
	}
	ck, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("client key of %s: %w", name, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&ck.PublicKey)
	if err != nil {
		return nil, err
	}
	req := wire.EnrollRequest{ProtocolVersion: wire.ProtocolVersion, JoinToken: jt.Token, Host: name,
		TPMFamily: wire.FamilyTPM20, EKPublic: sim.EKPublic, EKCert: sim.EKCert, AKPublic: sim.AKPublic,
		ClientPublicKey: pubDER}
	var ans wire.EnrollAnswer
	if err := call(ctx, r.enrolHTTP, "POST", r.base+"/agent/v1/enroll", "", req, &ans); err != nil {
		return nil, fmt.Errorf("enrol %s: %w", name, err)
	}
	if ans.Challenge == nil {
		return nil, fmt.Errorf("enrol %s: the verifier sent no credential challenge to a TPM 2.0 host", name)
	}
	secret, err := sim.ActivateCredential(ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
	if err != nil {
		return nil, fmt.Errorf("enrol %s: %w", name, err)
	}
	var res wire.EnrollResult
	if err := call(ctx, r.enrolHTTP, "POST", r.base+"/agent/v1/activate", "",
		wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}, &res); err != nil {
		return nil, fmt.Errorf("activate %s: %w", name, err)
	}
	b, _ := pem.Decode(res.ClientCertPEM)
	if b == nil {
		return nil, fmt.Errorf("activate %s: the verifier sent no client certificate", name)
	}
	// The EK's job is done; drop its private key and certificate.
	sim.ekRSA, sim.ekECC, sim.EKCert = nil, nil, nil
	return &host{name: name, im: im, tpm: sim, clock: uint64(time.Now().UnixMilli() % 1e9),
		cert:     tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: ck},
		sessions: tls.NewLRUClientSessionCache(1)}, nil
}

// turn is one attestation's account: where its time went, and whether
// it went over a connection that was open before the turn.
type turn struct {
	Phases
	held bool
}

// attest runs one attestation: a nonce, then the evidence, on the host's
// mTLS connection. --park goes its own way (attestHeld). Without KeepAlive
// the connection is opened for the attestation and closed afterwards (a
// TLS handshake per attestation, resumed from the host's last session).
// With it, net/http keeps the connection open between attestations, idle
// (the verifier closes idle connections after 2 minutes).
func (r *runner) attest(ctx context.Context, h *host, tn *turn) (wire.EvidenceResult, error) {
	if r.cfg.Park {
		return r.attestHeld(ctx, h, tn)
	}
	hc := h.hc
	if hc == nil {
		tr := newTransport(r.pool, &h.cert, 1)
		tr.TLSClientConfig.ClientSessionCache = h.sessions
		hc = &http.Client{Transport: tr, Timeout: r.cfg.Timeout}
		if r.cfg.KeepAlive {
			tr.IdleConnTimeout = 2*r.cfg.Interval + time.Minute
			h.hc = hc
		} else {
			defer tr.CloseIdleConnections()
		}
	}
	t0 := time.Now()
	var n wire.NonceResponse
	if err := call(connectTrace(ctx, &tn.Phases, &r.tally, &tn.held), hc, "GET", r.base+"/agent/v1/nonce", "", nil, &n); err != nil {
		return wire.EvidenceResult{}, err
	}
	t1 := time.Now()
	tn.Nonce = t1.Sub(t0) - tn.Connect
	h.clock += 1000 + uint64(r.cfg.Interval/time.Millisecond)
	q, err := h.tpm.Quote(h.im, n.Nonce, h.clock)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	t2 := time.Now()
	tn.Quote = t2.Sub(t1)
	// The evidence goes on the nonce's connection; should that have
	// closed, the handshake of its new one is counted too.
	ectx := connectTrace(ctx, nil, &r.tally, nil)
	res, err := r.submit(func(method, path string, body jsonBody, out any) error {
		return call(ectx, hc, method, r.base+path, "", body, out)
	}, h, n.Nonce, q)
	tn.Evidence = time.Since(t2)
	return res, err
}

// sender sends one agent request with a JSON body and decodes the answer
// into out.
type sender func(method, path string, body jsonBody, out any) error

// submit sends, with send, the evidence answering nonce with quote q as
// the agent does: the event log and the bundle files by hash when the
// verifier holds them, in full when it says it does not.
func (r *runner) submit(send sender, h *host, nonce []byte, q wire.Quote) (wire.EvidenceResult, error) {
	logByHash := !r.cfg.FullLogs && h.heldLog != "" && h.heldLog == h.im.eventLogSHA256
	bundlesByHash := !r.cfg.FullBundles && h.bundlesHeld
	var res wire.EvidenceResult
	sent := time.Now()
	err := send("POST", "/agent/v1/evidence", h.im.evidenceJSON(nonce, q, logByHash, bundlesByHash), &res)
	var he *HTTPError
	if (logByHash || bundlesByHash) && errors.As(err, &he) &&
		(he.Code == wire.CodeEventLogUnknown || he.Code == wire.CodeBundlesUnknown) {
		h.heldLog, h.bundlesHeld = "", false
		logByHash, bundlesByHash = false, false
		err = send("POST", "/agent/v1/evidence", h.im.evidenceJSON(nonce, q, false, false), &res)
	}
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	r.noteAck(h, nonce, res, sent)
	if logByHash {
		r.logsByHash.Add(1)
	}
	if bundlesByHash {
		r.bundlesByHash.Add(1)
	}
	h.heldLog = res.EventLogSHA256
	h.bundlesHeld = len(h.im.bundlesSHA256) > 0 && slices.Equal(res.BundlesSHA256, h.im.bundlesSHA256)
	return res, nil
}

var errUnexpected = errors.New("unexpected verdict")
