package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/bootproof/bootproof/internal/wire"
)

// TPM is what the agent needs of its TPM (internal/tpm's Device).
type TPM interface {
	EK() (pub, cert []byte, err error)
	CreateAK() (AK, error)
	LoadAK(blob []byte) (AK, error)
	// Quote quotes every PCR of the banks in one TPM2_Quote and returns
	// the values read, by bank then index.
	Quote(ak AK, nonce []byte, banks []string) (attest, sig []byte, pcrs map[string]map[int][]byte, err error)
	ActivateCredential(ak AK, credentialBlob, encryptedSecret []byte) ([]byte, error)
	Banks() ([]string, error)
}

// AK is an attestation key loaded in the TPM.
type AK interface {
	Public() []byte
	Blob() []byte
}

// attestOnce fetches a nonce and answers it with fresh evidence.
func (a *Agent) attestOnce(ctx context.Context) (wire.EvidenceResult, error) {
	var n wire.NonceResponse
	if err := a.api.do(ctx, "GET", "/agent/v1/nonce", nil, &n); err != nil {
		return wire.EvidenceResult{}, err
	}
	ev, err := a.gather(n.Nonce)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	res, err := a.submit(ctx, ev)
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	a.log.Info("attested", "status", res.Status, "reason", res.Reason)
	if a.cfg.OnResult != nil {
		a.cfg.OnResult(res)
	}
	return res, nil
}

// gather collects the evidence for one nonce: the quotes of every active
// bank, the event log and the bundle inventory.
func (a *Agent) gather(nonce []byte) (*wire.Evidence, error) {
	ev := &wire.Evidence{Nonce: nonce, TPMFamily: a.cfg.Family}
	if a.cfg.Family != wire.FamilyTPM20 {
		return ev, nil
	}
	banks, err := a.cfg.TPM.Banks()
	if err != nil {
		return nil, fmt.Errorf("list PCR banks: %w", err)
	}
	if ev.Quotes, err = a.quote(nonce, banks); err != nil {
		return nil, err
	}
	if a.cfg.EventLog != nil {
		if ev.EventLog, err = a.cfg.EventLog(); err != nil {
			// Without its log the host cannot pass, but it must still be
			// judged: send the quotes, and the verifier fails the host
			// for the missing log instead of leaving it Pending.
			a.log.Warn("no firmware event log; attesting without it", "err", err)
			ev.EventLog = nil
		}
	}
	if a.cfg.Bundles != nil {
		if ev.Bundles, err = a.cfg.Bundles(); err != nil {
			return nil, fmt.Errorf("read bundle inventory: %w", err)
		}
	}
	return ev, nil
}

// quote quotes every bank in one TPM2_Quote: one signature for the TPM to
// make and the verifier to check. A TPM that refuses a selection of several
// banks (the specification allows it, some firmware TPMs may not) is asked
// for one quote per bank instead; the verifier accepts either.
func (a *Agent) quote(nonce []byte, banks []string) ([]wire.Quote, error) {
	att, sig, pcrs, err := a.cfg.TPM.Quote(a.ak, nonce, banks)
	if err == nil {
		return []wire.Quote{{Attest: att, Signature: sig, PCRs: pcrs}}, nil
	}
	if len(banks) == 1 {
		return nil, fmt.Errorf("quote %s bank: %w", banks[0], err)
	}
	a.log.Warn("the TPM refused one quote over all banks; quoting each bank on its own", "banks", banks, "err", err)
	var out []wire.Quote
	for _, bank := range banks {
		att, sig, pcrs, err := a.cfg.TPM.Quote(a.ak, nonce, []string{bank})
		if err != nil {
			return nil, fmt.Errorf("quote %s bank: %w", bank, err)
		}
		out = append(out, wire.Quote{Attest: att, Signature: sig, PCRs: pcrs})
	}
	return out, nil
}

// submit sends the evidence, with its event log and bundle files named by
// hash when the verifier holds them already, and in full when the verifier
// says it does not (it may have lost them, or be another replica's store).
func (a *Agent) submit(ctx context.Context, ev *wire.Evidence) (wire.EvidenceResult, error) {
	var res wire.EvidenceResult
	send := a.elideBundles(a.elideLog(ev))
	err := a.api.do(ctx, "POST", "/agent/v1/evidence", send, &res)
	var refused *RefusedError
	if send != ev && errors.As(err, &refused) &&
		(refused.Code == wire.CodeEventLogUnknown || refused.Code == wire.CodeBundlesUnknown) {
		a.heldLog.Store(nil)
		a.heldBundles.Store(nil)
		err = a.api.do(ctx, "POST", "/agent/v1/evidence", ev, &res)
	}
	if err != nil {
		return wire.EvidenceResult{}, err
	}
	held := res.EventLogSHA256
	a.heldLog.Store(&held)
	heldBundles := res.BundlesSHA256
	a.heldBundles.Store(&heldBundles)
	return res, nil
}

// elideLog returns ev with its event log replaced by its hash when that is
// the log the verifier holds; otherwise ev.
func (a *Agent) elideLog(ev *wire.Evidence) *wire.Evidence {
	held := a.heldLog.Load()
	if held == nil || *held == "" || len(ev.EventLog) == 0 {
		return ev
	}
	if sha256Hex(ev.EventLog) != *held {
		return ev
	}
	slim := *ev
	slim.EventLog, slim.EventLogSHA256 = nil, *held
	return &slim
}

// elideBundles returns ev with its bundle files replaced by their hashes
// when they are, in order, the files the verifier holds; otherwise ev.
func (a *Agent) elideBundles(ev *wire.Evidence) *wire.Evidence {
	held := a.heldBundles.Load()
	if held == nil || len(*held) == 0 || len(ev.Bundles) != len(*held) {
		return ev
	}
	for i, f := range ev.Bundles {
		if sha256Hex(f) != (*held)[i] {
			return ev
		}
	}
	slim := *ev
	slim.Bundles, slim.BundlesSHA256 = nil, *held
	return &slim
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
