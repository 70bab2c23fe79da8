package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

func (s *server) agentEnroll(w http.ResponseWriter, r *http.Request) error {
	var req wire.EnrollRequest
	if err := decode(w, r, 256<<10, &req); err != nil {
		return err
	}
	ans, err := s.v.Enroll(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

func (s *server) agentActivate(w http.ResponseWriter, r *http.Request) error {
	var req wire.ActivateRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	res, err := s.v.Activate(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *server) agentReactivate(w http.ResponseWriter, r *http.Request) error {
	var req wire.ReactivateRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	ch, err := s.v.Reactivate(r.Context(), agentHost(r), req.AKPublic)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *server) agentNonce(w http.ResponseWriter, r *http.Request) error {
	n, err := s.v.Nonce(r.Context(), agentHost(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (s *server) agentEvidence(w http.ResponseWriter, r *http.Request) error {
	var ev wire.Evidence
	if err := decodeEvidence(w, r, &ev); err != nil {
		return err
	}
	res, err := s.v.Submit(r.Context(), agentHost(r), &ev)
	if err != nil {
		return err
	}
	if r.ContentLength > keepAliveEvidenceBytes {
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// keepAliveEvidenceBytes is the largest evidence body after which the
// agent's connection is kept. The agent parks its wait on the connection
// its evidence came on, and crypto/tls keeps for the connection's life a
// receive buffer as large as the largest records it read, which nothing
// can shrink: after a body with the event log (24 KB for the emulated
// chain, up to 150 KB for real logs) a heap profile of 2,000 parked waits
// showed 16 KB of it per wait. The evidence an agent sends while the
// verifier holds its log is smaller (6.9 KB with four banks of the
// emulated chain); what its buffer keeps after that was not measured.
// Closing after such a body costs that agent one resumed handshake for
// its wait, once per changed log, and parks it on a connection that has
// read nothing larger than its steady evidence.
const keepAliveEvidenceBytes = 16 << 10

// agentWait answers when the host should attest now or at its timeout
// (the agent's ?timeout=MS, at most MaxWait). With a Parker the wait leaves
// this handler and net/http's goroutines (park.go says why), or is answered
// at once when the Parker's bound is reached (Parker.refuse); otherwise, or
// when it cannot be parked, it is held here, for at most maxHeldWait.
func (s *server) agentWait(w http.ResponseWriter, r *http.Request) error {
	arrived := time.Now()
	timeout := s.cfg.MaxWait
	if ms, err := strconv.ParseInt(r.URL.Query().Get("timeout"), 10, 64); err == nil && ms > 0 {
		timeout = time.Duration(min(ms, s.cfg.MaxWait.Milliseconds())) * time.Millisecond
	}
	h := agentHost(r)
	if s.cfg.Parker != nil && s.cfg.Parker.park(w, r, h, arrived.Add(timeout)) {
		return nil
	}
	attest := s.v.Wait(r.Context(), h, min(timeout, maxHeldWait))
	writeJSON(w, http.StatusOK, wire.WaitResponse{Attest: attest})
	return nil
}

func (s *server) tokenKeys(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, err := w.Write(s.cfg.TokenKeysPEM)
	return err
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
