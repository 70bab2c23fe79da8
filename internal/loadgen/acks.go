package loadgen

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bootproof/bootproof/internal/wire"
)

// Ack is one attestation the verifier acknowledged (200 to the evidence):
// what Config.Acks receives, one JSON line each. A crash test holds the
// verifier to each of them: an acknowledged verdict must still be stored
// after the verifier is killed, and its time lies between Sent and Acked.
type Ack struct {
	Host  string `json:"host"`
	Nonce []byte `json:"nonce"`
	// Status is the verdict the answer named.
	Status string `json:"status"`
	// Sent is when the evidence went out, Acked when its answer came back.
	Sent  time.Time `json:"sent"`
	Acked time.Time `json:"acked"`
}

// noteAck writes one Ack line to Config.Acks, if set. A line that cannot
// be written is an error of the run: a list with holes would let a crash
// test pass on verdicts it never checked.
func (r *runner) noteAck(h *host, nonce []byte, res wire.EvidenceResult, sent time.Time) {
	if r.cfg.Acks == nil {
		return
	}
	line, err := json.Marshal(Ack{Host: h.name, Nonce: nonce, Status: res.Status, Sent: sent, Acked: time.Now()})
	if err == nil {
		r.ackMu.Lock()
		_, err = r.cfg.Acks.Write(append(line, '\n'))
		r.ackMu.Unlock()
	}
	if err != nil {
		r.noteError(fmt.Errorf("%s: write acknowledgement: %w", h.name, err))
	}
}
