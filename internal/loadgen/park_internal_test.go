package loadgen

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestLateWakeCountsInLatency: a verifier that answers a parked wait late
// delays the host's next attestation, and the report counts that delay in
// the attestation's latency (from the turn) and in its wake phase, as a
// real agent would suffer it; the attestation still goes over the held
// connection.
func TestLateWakeCountsInLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the emulated chain on the reference TPM")
	}
	ims, err := BootImages([]emuhost.Profile{emuhost.Good})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSimulatedTPM(EKECC, AKECC, testMaker(t), "late")
	if err != nil {
		t.Fatal(err)
	}
	const late = 300 * time.Millisecond
	var answerAt atomic.Pointer[time.Time]
	var waits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/agent/v1/nonce":
			json.NewEncoder(w).Encode(wire.NonceResponse{Nonce: []byte("a nonce of the verifier's")})
		case "/agent/v1/evidence":
			json.NewEncoder(w).Encode(wire.EvidenceResult{Status: "Passed"})
		case "/agent/v1/wait":
			waits.Add(1)
			select {
			case <-time.After(time.Until(*answerAt.Load())):
			case <-r.Context().Done():
				return
			}
			json.NewEncoder(w).Encode(wire.WaitResponse{})
		}
	}))
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	r := &runner{cfg: Config{Interval: time.Second, Timeout: 5 * time.Second, Park: true}, pool: pool,
		addr: addr, host: addr, serverName: "127.0.0.1", heldCap: 1, verdicts: map[string]int{}}
	h := &host{name: "late", im: ims[emuhost.Good], tpm: s, sessions: tls.NewLRUClientSessionCache(1)}
	defer r.drop(h)
	nop := func() {}

	// The first turn, on a new connection; its wait is parked and
	// answered late.
	var first turn
	if _, err := r.attest(t.Context(), h, &first); err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(400 * time.Millisecond)
	at := next.Add(late)
	answerAt.Store(&at)
	r.park(t.Context(), h, next, true)
	time.Sleep(time.Until(next))
	begun := time.Now()
	r.steadyTurn(t.Context(), h, time.Now(), nop, nop) // the turn: no wait after it
	want := at.Sub(begun) - 50*time.Millisecond        // the answer's delay, less slack for the scheduler
	if len(r.lat) != 1 || r.heldAtt != 1 || r.waits.parked.Load() != 1 || waits.Load() != 1 {
		t.Fatalf("%d attestations (%d held), %d waits parked of %d sent; want 1 (held), 1 of 1: %v",
			len(r.lat), r.heldAtt, r.waits.parked.Load(), waits.Load(), r.errSample)
	}
	if want <= 0 {
		t.Skipf("the turn began %s after its time: too slow a machine to see a late answer", begun.Sub(next))
	}
	if r.lat[0] < want || r.phases[0].Wake < want {
		t.Errorf("verifier answered the wait %s late: latency %s, wake %s; want both at least %s", late, r.lat[0], r.phases[0].Wake, want)
	}
}
