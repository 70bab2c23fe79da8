package api

import (
	"bytes"
	"container/heap"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// Why the wait route bypasses net/http's per-connection goroutine.
//
// Every agent holds GET /agent/v1/wait open between attestations, minutes
// at a time. Served the ordinary way, each wait keeps net/http's connection
// goroutine and its background-read goroutine (two stacks), the
// connection's bufio reader and writer and the request's state: about
// 50 KiB of the verifier per waiting agent (docs/performance.md), 5 GB for
// 100,000 agents. So once a wait is authenticated and read (the ordinary
// middleware and handler chain ran, as for any request), the handler
// hijacks the connection and parks it in a Parker. A parked connection is
// its *tls.Conn, an entry in one deadline heap, one registration in an
// epoll set that reports hangups, and a callback among the verifier's
// waiters: no goroutine waits for it. When it is woken (attest now), times
// out or the agent speaks, the parker writes the answer the handler would
// have written (same status, headers and JSON body) and hands the
// connection back, through Listener, to the same http.Server, which serves
// the agent's next request on it as on any kept-alive connection: the TLS
// state, and with it the client certificate's identity, stays in the
// *tls.Conn, and that next request goes through the whole chain again.
// Like any new connection it must come within the server's
// ReadHeaderTimeout; an agent sends it at once.
//
// What a parked wait still costs is nearly all crypto/tls's state of the
// connection, which no crypto/tls API releases (docs/performance.md,
// 2026-11-26, N=10,000: 13.2 KiB of RSS, 12.1 KiB of heap in use of which
// 10.1 KiB live). An exact heap profile (N=5,000) splits the live bytes of
// one wait: the record buffer 2,048 B and the handshake buffer 1,536 B
// (both grown for the ClientHello, its ML-KEM key share included, and never
// shrunk), the parsed client certificate 2,672 B and the certificate
// message it points into 448 B, the AES-GCM states and traffic secrets of
// both directions 1,856 B, the tls.Conn 912 B, the exporter and resumption
// secrets 112 B; the socket (netFD, addresses) 296 B; this parker's own
// (parkedConn, heap slot, id, the waiter's callback and its removal) 289 B.
// Nothing of net/http (the request, its context, the hijack's bufio reader
// and writer) stays. The session ticket sent after the handshake leaves
// nothing behind (disabling tickets measured the same).
//
// Max bounds the parked waits (bootproof verifier --max-parked): a wait
// over it is answered at once, telling the agent not to wait again before
// its next attestation, and its connection closed (refuse), so that the
// bound bounds the memory that waiting agents take.

// DefaultMaxParked bounds the parked connections when ParkerConfig.Max is 0.
// A wait parked on the connection its agent's evidence came on holds about
// 20 KB of live heap (312 MB for 15,000 in a load run, half of it crypto/tls's
// receive buffers): 50,000 take about 1 GB, half the verifier's default
// GOMEMLIMIT, so that a fleet larger than that cannot push the live heap to
// the limit, where the collector would run without pause.
const DefaultMaxParked = 50_000

const (
	// answerWriteTimeout bounds writing a parked wait's answer: it is a
	// few hundred bytes into a socket buffer unless the agent is gone.
	answerWriteTimeout = 10 * time.Second
	// maxHeldWait bounds a wait held in its handler (not parked): a held
	// wait keeps net/http's goroutines and buffers, and the server's
	// ReadTimeout (1 min) cancels its request's context anyway.
	maxHeldWait = 50 * time.Second
)

// ParkerConfig configures a Parker.
type ParkerConfig struct {
	Verifier *verifier.Verifier
	// Max bounds the connections parked at once (default
	// DefaultMaxParked); a wait over the bound is answered at once (see
	// refuse).
	Max int
	// Refused, if set, is called for every wait answered at once because
	// Max waits were parked.
	Refused func()
	// AnsweredLate, if set, is told how long after its deadline each wait
	// that ran out was answered.
	AnsweredLate func(time.Duration)
	// Replaced, if set, is told the host of every parked wait closed
	// because the same host parked a newer one (see settle).
	Replaced func(host string)
	Log      *slog.Logger
}

// Parker holds waiting agents' connections without a goroutine each.
type Parker struct {
	v          *verifier.Verifier
	log        *slog.Logger
	max        int
	onRefused  func()
	onLate     func(time.Duration)
	onReplaced func(host string)

	mu    sync.Mutex
	n     int // parked, or being parked
	queue parkQueue
	byID  map[uint32]*parkedConn
	// byHost is each host's one parked wait (settle).
	byHost map[string]*parkedConn
	lastID uint32
	closed bool
	// refused holds, by host, until when a host refused over the bound
	// was told not to wait again (refuse); pruneAt is the size at which
	// the lapsed entries are dropped.
	refused map[string]time.Time
	pruneAt int

	kick    chan struct{} // the deadline loop looks at the queue again
	done    chan struct{} // closed by Close
	watcher *hangupWatcher
	back    *handback
	wg      sync.WaitGroup
}

// parkedConn is one parked wait. Whoever takes it from the parker (wake,
// timeout, hangup or Close, see take) owns its connection from then on.
type parkedConn struct {
	id       uint32
	host     string
	conn     *tls.Conn
	deadline time.Time
	index    int // in queue, or -1
	fd       int // watched by the hangup watcher, or -1
	stop     func()
	done     bool
}

// NewParker starts a parker; Close stops it. It fails where the platform
// cannot watch connections for hangups without a goroutine each (only
// Linux can); waits are then held in their handlers as before.
func NewParker(cfg ParkerConfig) (*Parker, error) {
	if cfg.Verifier == nil {
		return nil, fmt.Errorf("parker: a verifier is required")
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMaxParked
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AnsweredLate == nil {
		cfg.AnsweredLate = func(time.Duration) {}
	}
	if cfg.Replaced == nil {
		cfg.Replaced = func(string) {}
	}
	p := &Parker{v: cfg.Verifier, log: cfg.Log, max: cfg.Max, onRefused: cfg.Refused, onLate: cfg.AnsweredLate,
		onReplaced: cfg.Replaced, byID: map[uint32]*parkedConn{}, byHost: map[string]*parkedConn{},
		refused: map[string]time.Time{}, pruneAt: minRefusedPrune,
		kick: make(chan struct{}, 1), done: make(chan struct{}), back: newHandback()}
	w, err := newHangupWatcher(p)
	if err != nil {
		return nil, fmt.Errorf("parker: %w", err)
	}
	p.watcher = w
	p.wg.Add(2)
	go func() { defer p.wg.Done(); p.expire() }()
	go func() { defer p.wg.Done(); w.run() }()
	return p, nil
}

// Listener hands back the connections whose wait was answered: serve it
// with the same http.Server as the TLS listener.
func (p *Parker) Listener() net.Listener { return p.back }

// Parked is how many connections are parked now (0 for a nil Parker).
func (p *Parker) Parked() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Close closes every parked connection and the hand-back listener, and
// stops the parker's goroutines. A nil Parker closes nothing.
func (p *Parker) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var all []*parkedConn
	for _, pc := range p.byID {
		all = append(all, pc)
	}
	for _, pc := range all {
		p.takeLocked(pc)
	}
	p.mu.Unlock()
	for _, pc := range all {
		pc.stop()
		_ = pc.conn.NetConn().Close()
	}
	close(p.done)
	p.back.Close()
	p.watcher.wake()
	p.wg.Wait()
	p.watcher.close()
}

// parkable says whether a wait may leave its handler: its answer must be
// the next bytes on a connection that stays open for the agent's next
// request.
func parkable(r *http.Request) bool {
	return r.Method == http.MethodGet && r.ProtoAtLeast(1, 1) && !r.Close && r.ContentLength == 0 &&
		len(r.TransferEncoding) == 0 && r.TLS != nil
}

// park takes over the wait of r for host h if it can, and answers it at
// once when the bound of parked waits is reached. It returns false, having
// done nothing, when the caller must hold the wait itself: r cannot be
// parked, or the parker is closing.
//
// The wait ends at deadline, the agent's timeout counted from when its
// request reached the handler, so that the parker's own work (the host
// looked up again in Notify) does not make the agent's turn late.
func (p *Parker) park(w http.ResponseWriter, r *http.Request, h store.Host, deadline time.Time) bool {
	if !parkable(r) {
		return false
	}
	ok, full := p.reserve()
	if full {
		// At least a millisecond: a handler that took longer than the
		// agent's timeout still gives it a hint to wait, not to ask again.
		now := time.Now()
		p.refuse(w, h.Name, max(deadline.Sub(now), time.Millisecond), now)
		return true
	}
	if !ok {
		return false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.release()
		return false
	}
	tc, ok := conn.(*tls.Conn)
	if !ok || brw.Reader.Buffered() > 0 {
		// net/http read ahead (a pipelined request), or this is not a TLS
		// connection: those bytes cannot go back with the connection, so
		// the wait is held here and the connection closed after.
		p.release()
		p.holdAndClose(r, conn, h, time.Until(deadline))
		return true
	}
	pc := &parkedConn{host: h.Name, conn: tc, index: -1, fd: -1}
	now, stop := p.v.Notify(r.Context(), h, func() { p.wake(pc) })
	p.settle(pc, now, stop, deadline)
	return true
}

// settle parks pc until deadline, unless it was woken since Notify, a
// request was pending already (now), or the parker is closing.
//
// A host has one parked wait at most: parking a second replaces the
// first, whose connection is closed unanswered. An agent holds one wait at
// a time, so a second is either a compromised host taking more than its
// share of the parker's bound (each wait held costs the verifier about
// 20 KB, and --max-parked is shared by the fleet) or an agent whose
// earlier connection died unseen (a NAT forgot it); the newer wait is
// the one an agent is listening on. Closing rather than answering the
// older wait gives a host that parks waits in turn on two connections
// nothing to loop on but a new TLS handshake.
func (p *Parker) settle(pc *parkedConn, now bool, stop func(), deadline time.Time) {
	p.mu.Lock()
	pc.stop = stop
	if pc.done {
		// Woken between Notify and here: the waker answers.
		p.mu.Unlock()
		stop()
		return
	}
	if now || p.closed {
		p.takeLocked(pc)
		closed := p.closed
		p.mu.Unlock()
		stop()
		if closed {
			_ = pc.conn.NetConn().Close()
		} else {
			p.answer(pc.conn, true, time.Time{})
		}
		return
	}
	p.lastID++
	for p.lastID == 0 || p.byID[p.lastID] != nil {
		p.lastID++
	}
	pc.id = p.lastID
	pc.deadline = deadline
	p.byID[pc.id] = pc
	old := p.byHost[pc.host]
	if old != nil && !p.takeLocked(old) {
		old = nil
	}
	p.byHost[pc.host] = pc
	heap.Push(&p.queue, pc)
	if err := p.watcher.add(pc); err != nil {
		// Parked all the same; only a hangup goes unnoticed until timeout.
		p.log.Debug("watch a parked connection", "err", err)
	}
	first := pc.index == 0
	p.mu.Unlock()
	if old != nil {
		old.stop()
		p.onReplaced(old.host)
		_ = old.conn.NetConn().Close()
	}
	if first {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// reserve counts a wait in, unless the parker is closed or full.
func (p *Parker) reserve() (ok, full bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return false, false
	case p.n >= p.max:
		return false, true
	}
	p.n++
	return true, false
}

// minRefusedPrune is the least size of Parker.refused at which lapsed
// entries are dropped.
const minRefusedPrune = 1024

// refuse answers, at once, the wait of a host over the bound of parked
// waits, and closes the connection: kept alive, it would cost the
// verifier a goroutine and buffers for as long as a held wait. The answer
// is attest false with retry_after_seconds, the wait's own timeout
// (wire.WaitResponse): the agent asked for the time left until its next
// attestation, and attests then without waiting again; attest now
// requested meanwhile stays pending until it does. An agent that asks again
// well within that time (nine tenths of it: one that honours the hint and
// attests asks again after all of it, less a round trip) ignored the
// hint, as agents before it do (they ask again at once on attest false):
// it is told 503 with Retry-After, as a busy verifier tells it, and backs
// off instead of spinning.
func (p *Parker) refuse(w http.ResponseWriter, host string, timeout time.Duration, now time.Time) {
	secs := int((timeout + time.Second - 1) / time.Second)
	again := p.refusedUntil(host, now, now.Add(timeout*9/10))
	if p.onRefused != nil {
		p.onRefused()
	}
	w.Header().Set("Connection", "close")
	if again > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(again))
		writeJSON(w, http.StatusServiceUnavailable, Error{Code: "wait.over_bound",
			Message: "the verifier holds all the waits it may; do not wait again before your next attestation"})
		return
	}
	writeJSON(w, http.StatusOK, wire.WaitResponse{Attest: false, RetryAfterSeconds: secs})
}

// refusedUntil records that host is told not to wait again until until,
// and returns 0; or, when host was told so already and asks again before
// that time, the seconds left of it (at least 1), recording nothing.
func (p *Parker) refusedUntil(host string, now, until time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.refused[host]; ok && now.Before(u) {
		return int((u.Sub(now) + time.Second - 1) / time.Second)
	}
	if len(p.refused) >= p.pruneAt {
		for h, u := range p.refused {
			if !now.Before(u) {
				delete(p.refused, h)
			}
		}
		p.pruneAt = max(2*len(p.refused), minRefusedPrune)
	}
	p.refused[host] = until
	return 0
}

func (p *Parker) release() {
	p.mu.Lock()
	p.n--
	p.mu.Unlock()
}

// takeLocked takes pc out of the parker: queue, watcher, index. It
// reports false when another took it first.
func (p *Parker) takeLocked(pc *parkedConn) bool {
	if pc.done {
		return false
	}
	pc.done = true
	p.n--
	if pc.index >= 0 {
		heap.Remove(&p.queue, pc.index)
	}
	if pc.fd >= 0 {
		p.watcher.remove(pc)
	}
	if pc.id != 0 {
		delete(p.byID, pc.id)
	}
	if p.byHost[pc.host] == pc {
		delete(p.byHost, pc.host)
	}
	return true
}

// take is takeLocked with the lock, and the verifier's waiter removed.
func (p *Parker) take(pc *parkedConn) bool {
	p.mu.Lock()
	ok := p.takeLocked(pc)
	stop := pc.stop
	p.mu.Unlock()
	if ok && stop != nil {
		stop()
	}
	return ok
}

// wake answers pc "attest now"; the verifier calls it and it must not block.
func (p *Parker) wake(pc *parkedConn) {
	if p.take(pc) {
		go p.answer(pc.conn, true, time.Time{})
	}
}

// event is the hangup watcher's report on the connection parked as id.
func (p *Parker) event(id uint32, hangup bool) {
	p.mu.Lock()
	pc := p.byID[id]
	p.mu.Unlock()
	if pc == nil || !p.take(pc) {
		return
	}
	if hangup {
		// Nobody to answer, and no close_notify to send to a peer gone.
		_ = pc.conn.NetConn().Close()
		return
	}
	// The agent spoke before its answer: answer now and let net/http read
	// what it sent.
	go p.answer(pc.conn, false, time.Time{})
}

// expire answers the waits whose deadline passed; one goroutine for all.
func (p *Parker) expire() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		var due []*parkedConn
		p.mu.Lock()
		for len(p.queue) > 0 && !p.queue[0].deadline.After(now) {
			pc := p.queue[0]
			p.takeLocked(pc)
			due = append(due, pc)
		}
		next := time.Hour
		if len(p.queue) > 0 {
			next = p.queue[0].deadline.Sub(now)
		}
		p.mu.Unlock()
		for _, pc := range due {
			pc.stop()
			go p.answer(pc.conn, false, pc.deadline)
		}
		t.Reset(next)
		select {
		case <-t.C:
		case <-p.kick:
		case <-p.done:
			return
		}
	}
}

// answer writes a wait's answer on c and hands c back to the server; a
// connection whose agent is gone is closed and forgotten. For a wait that
// ran out, deadline is when it was due, and how late its answer was
// written is reported (the hand-back to net/http after is not the
// agent's concern: it has its answer).
func (p *Parker) answer(c *tls.Conn, attest bool, deadline time.Time) {
	_ = c.SetWriteDeadline(time.Now().Add(answerWriteTimeout))
	if _, err := c.Write(waitAnswer(attest, time.Now(), false)); err != nil {
		p.log.Debug("answer a parked wait", "err", err)
		_ = c.NetConn().Close()
		return
	}
	if !deadline.IsZero() {
		p.onLate(time.Since(deadline))
	}
	_ = c.SetWriteDeadline(time.Time{})
	p.back.give(c)
}

// holdAndClose is the ordinary blocking wait on a hijacked connection that
// cannot be parked: it answers with "Connection: close" and closes.
func (p *Parker) holdAndClose(r *http.Request, c net.Conn, h store.Host, timeout time.Duration) {
	defer c.Close()
	attest := p.v.Wait(r.Context(), h, min(timeout, maxHeldWait))
	_ = c.SetWriteDeadline(time.Now().Add(answerWriteTimeout))
	_, _ = c.Write(waitAnswer(attest, time.Now(), true))
}

// waitBodies are the JSON bodies writeJSON writes for a WaitResponse.
var waitBodies = map[bool][]byte{true: jsonBody(wire.WaitResponse{Attest: true}),
	false: jsonBody(wire.WaitResponse{Attest: false})}

func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return b.Bytes()
}

// waitAnswer is the HTTP/1.1 response agentWait writes through net/http:
// 200, the same headers and body, kept alive unless closing.
func waitAnswer(attest bool, now time.Time, closing bool) []byte {
	body := waitBodies[attest]
	b := make([]byte, 0, 192+len(body))
	b = append(b, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"...)
	if closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nContent-Type: application/json\r\nDate: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// parkQueue is a min-heap of parked waits by deadline.
type parkQueue []*parkedConn

func (q parkQueue) Len() int           { return len(q) }
func (q parkQueue) Less(i, j int) bool { return q[i].deadline.Before(q[j].deadline) }
func (q parkQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *parkQueue) Push(x any) {
	pc := x.(*parkedConn)
	pc.index = len(*q)
	*q = append(*q, pc)
}
func (q *parkQueue) Pop() any {
	old := *q
	pc := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	pc.index = -1
	return pc
}

// handback is the listener through which answered connections return to
// the http.Server.
type handback struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandback() *handback {
	return &handback{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (h *handback) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handback) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handback) Addr() net.Addr { return parkAddr{} }

// give hands c to the server, or closes it once the server stopped.
func (h *handback) give(c net.Conn) {
	select {
	case h.conns <- c:
	case <-h.done:
		_ = c.Close()
	}
}

type parkAddr struct{}

func (parkAddr) Network() string { return "parked" }
func (parkAddr) String() string  { return "parked agent connections" }
