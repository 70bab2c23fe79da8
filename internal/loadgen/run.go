package loadgen

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
)

// Config is a load run.
type Config struct {
	// URL is the verifier's base URL; CAPEM its CA certificate.
	URL   string
	CAPEM []byte
	// AdminToken is an API token allowed to set policies and make join tokens.
	AdminToken string
	// Maker certifies the simulated EKs; the verifier must trust it (--ek-roots).
	Maker *makerca.CA
	// Group is the host group the simulated hosts join (default "loadgen").
	Group string
	// Prefix starts every host name (default "load-").
	Prefix string
	// Hosts is how many hosts to simulate.
	Hosts int
	// FailShare is the share of hosts booted with a failing profile (0..1).
	FailShare float64
	// EK and AK are the kinds of software keys (default ECC both).
	EK EKKind
	AK AKKind
	// Interval is how often each host attests in the steady run.
	Interval time.Duration
	// Duration is how long the steady run lasts (after enrolment).
	Duration time.Duration
	// ColdStart makes every host attest at once instead, retrying as agents
	// do, until each has a verdict or Duration has passed.
	ColdStart bool
	// EnrolWorkers bounds concurrent enrolments (default 16).
	EnrolWorkers int
	// MaxInFlight bounds concurrent attestations in the steady run (default 256).
	MaxInFlight int
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
	// KeepAlive keeps each host's connection open between attestations,
	// idle (the verifier closes it after 2 minutes); without it, or Park,
	// every attestation pays a TLS handshake.
	KeepAlive bool
	// Park has each host hold its connection between turns with the
	// agent's wait parked on it, and reconnect at its turn only when the
	// verifier refused the wait (park.go). Not with ColdStart or KeepAlive.
	Park bool
	// MaxHeld bounds, with Park, the connections held between turns (0:
	// as many as the process's file descriptor limit allows, fdPlan).
	MaxHeld int
	// Warmup, in steady mode, runs the schedule this long before the
	// measured Duration: hosts that have attested once have a TLS session
	// to resume and a log the verifier holds, as in a fleet that has been
	// running; the first turn after enrolment is a transient of its own.
	// Errors and unexpected verdicts in it are reported; figures are not.
	Warmup time.Duration
	// FullLogs sends every host's event log with every attestation, as
	// agents did before the verifier held logs by hash; by default a host
	// sends the hash once the verifier holds its log, as the agent does.
	FullLogs bool
	// FullBundles likewise sends every host's bundle files with every
	// attestation, never their hashes; with FullLogs, a run sends all of
	// its evidence every time, as agents did before either.
	FullBundles bool
	// Acks, when set, receives one JSON line (an Ack) per attestation the
	// verifier acknowledged, as its answer arrives.
	Acks io.Writer
	// VerifierPID, when set, is sampled from /proc for CPU and memory.
	VerifierPID int
	// Progress receives a line every ProgressEvery (nil: none).
	Progress      io.Writer
	ProgressEvery time.Duration
}

// failingProfiles are the profiles failing hosts are booted with, in turn.
var failingProfiles = []emuhost.Profile{emuhost.SecureBootOff, emuhost.TamperedKernel, emuhost.RogueBootloader, emuhost.UnsignedBundle}

type runner struct {
	cfg       Config
	base      string
	pool      *x509.CertPool
	enrolHTTP *http.Client
	// addr (host:port), host (the Host header) and serverName are the
	// verifier's, for the connections --park opens itself.
	addr, host, serverName string
	// heldCap bounds the connections held between turns (park.go);
	// heldOpen counts them.
	heldCap  int
	heldOpen atomic.Int64
	// fdLimit is the process's file descriptor limit (0: unknown).
	fdLimit int
	// tally counts TLS handshakes, waits what became of --park's waits.
	tally connTally
	waits waitTally
	// phase is the counting phase, 0 in the warm-up and 1 once measuring.
	phase atomic.Int64
	// parking counts the steady turns still running, sending their wait
	// included (steadyTurn).
	parking sync.WaitGroup

	// ackMu keeps Config.Acks's lines whole.
	ackMu sync.Mutex

	mu        sync.Mutex
	lat       []time.Duration
	latSeen   int // len(lat) at the last progress line
	phases    []Phases
	verdicts  map[string]int
	errs      int
	busy      int
	retries   int
	unexp     int
	errSample []string
	// waitErrSample are a few waits whose answer could not be read.
	waitErrSample []string
	maxLag        time.Duration
	// heldAtt and newAtt split the attestations by connection: one open
	// before the turn, or one opened for it.
	heldAtt, newAtt int
	done            atomic.Int64
	// logsByHash counts evidence sent with its event log by hash.
	logsByHash atomic.Int64
	// bundlesByHash counts evidence sent with its bundle files by hash.
	bundlesByHash atomic.Int64
}

func (c *Config) defaults() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("verifier URL is required"))
	}
	if len(c.CAPEM) == 0 {
		errs = append(errs, errors.New("verifier CA certificate is required"))
	}
	if c.AdminToken == "" {
		errs = append(errs, errors.New("an admin API token is required (join tokens, policy)"))
	}
	if c.Maker == nil {
		errs = append(errs, errors.New("a maker CA is required to certify the simulated EKs"))
	}
	if c.Hosts <= 0 {
		errs = append(errs, fmt.Errorf("hosts must be positive, not %d", c.Hosts))
	}
	if c.FailShare < 0 || c.FailShare > 1 {
		errs = append(errs, fmt.Errorf("fail share %v is not between 0 and 1", c.FailShare))
	}
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, not %s", c.Duration))
	}
	if !c.ColdStart && c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval must be positive, not %s", c.Interval))
	}
	if c.Park && c.ColdStart {
		errs = append(errs, errors.New("park holds waits between steady turns; a cold start has none (use one of them)"))
	}
	if c.Park && c.KeepAlive {
		errs = append(errs, errors.New("park and keep-alive are two ways to keep connections (use one of them)"))
	}
	if c.Park && c.Interval > api.DefaultMaxWait {
		// The verifier answers a wait at its bound at the latest; an agent
		// then waits again, which --park does not simulate.
		errs = append(errs, fmt.Errorf("park: interval %s is over the verifier's longest wait (%s)", c.Interval, api.DefaultMaxWait))
	}
	if c.MaxHeld < 0 {
		errs = append(errs, fmt.Errorf("max held connections must not be negative, not %d", c.MaxHeld))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loadgen config: %w", err)
	}
	if c.Group == "" {
		c.Group = "loadgen"
	}
	if c.Prefix == "" {
		c.Prefix = "load-"
	}
	if c.EnrolWorkers <= 0 {
		c.EnrolWorkers = 16
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 256
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 10 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// Run enrols cfg.Hosts simulated hosts through the normal protocol, then
// drives the verifier (steady or cold start) and reports what it measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.enrolHTTP.CloseIdleConnections()
	rep := &Report{Hosts: cfg.Hosts, Interval: cfg.Interval, Mode: "steady", Connections: r.connections(),
		VerifierPID: cfg.VerifierPID, FDLimit: r.fdLimit, HeldCap: r.heldCap}
	if cfg.ColdStart {
		rep.Mode = "cold-start"
	}
	if err := r.setPolicy(ctx); err != nil {
		return nil, err
	}
	images, err := r.images()
	if err != nil {
		return nil, err
	}
	s0, _ := r.sample()
	began := time.Now()
	hosts, enrolErrs := r.enrolAll(ctx, images)
	rep.EnrolTime, rep.Enrolled, rep.EnrolErrors = time.Since(began), len(hosts), enrolErrs
	// Enrolment's connections are not needed again: their descriptors go
	// to the hosts' connections.
	r.enrolHTTP.CloseIdleConnections()
	defer r.dropAll(hosts)
	s1, _ := r.sample()
	rep.VerifierCPUEnrol = cores(s0, s1)
	if len(hosts) == 0 {
		return rep, fmt.Errorf("loadgen: no host enrolled (%s)", strings.Join(r.errSample, "; "))
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	r.errSample, r.errs = nil, 0
	// The memory peak is watched from here, warm-up included.
	stop := r.watch(ctx, rep)
	sc := newSchedule(len(hosts), cfg.Interval)
	if cfg.Warmup > 0 && !cfg.ColdStart {
		fmt.Fprintf(r.cfg.Progress, "warm-up for %s, not measured\n", cfg.Warmup)
		r.steady(ctx, hosts, sc, cfg.Warmup)
		r.endWarmup(rep)
		s1, _ = r.sample()
		fmt.Fprintf(r.cfg.Progress, "warm-up done: %d attestations, %d errors; measuring\n", rep.WarmupAttestations, rep.WarmupErrors)
	}
	gcBefore := gcCycles()
	began = time.Now()
	if cfg.ColdStart {
		rep.LastVerdict = r.coldStart(ctx, hosts)
	} else {
		r.steady(ctx, hosts, sc, cfg.Duration)
	}
	rep.Wall = time.Since(began)
	rep.GeneratorGCs = gcCycles() - gcBefore
	stop()
	s2, _ := r.sample()
	rep.VerifierCPU = cores(s1, s2)
	if s2.HWMBytes > 0 {
		rep.VerifierRSSEnd, rep.VerifierHWM = s2.RSSBytes, s2.HWMBytes
	}
	r.fill(rep)
	return rep, nil
}

// newRunner checks cfg and plans the run's file descriptors (fdPlan).
func newRunner(cfg Config) (*runner, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cfg.CAPEM) {
		return nil, errors.New("loadgen: verifier CA holds no PEM certificate")
	}
	r := &runner{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), pool: pool, verdicts: map[string]int{}}
	u, err := url.Parse(r.base)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("loadgen: verifier URL %q is not https://host[:port]", cfg.URL)
	}
	r.host, r.serverName, r.addr = u.Host, u.Hostname(), u.Host
	if u.Port() == "" {
		r.addr = net.JoinHostPort(u.Hostname(), "443")
	}
	limit, _ := fdLimit() // 0 when unknown
	if r.heldCap, err = fdPlan(cfg, limit); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	r.fdLimit = limit
	r.enrolHTTP = &http.Client{Transport: newTransport(pool, nil, cfg.EnrolWorkers*2), Timeout: cfg.Timeout}
	return r, nil
}

func (r *runner) connections() string {
	switch {
	case r.cfg.Park:
		return "park"
	case r.cfg.KeepAlive:
		return "keep-alive"
	}
	return "reconnect"
}

// setPolicy gives the load group the policy its hosts' profiles are
// appraised against.
func (r *runner) setPolicy(ctx context.Context) error {
	p, err := LoadPolicy(r.cfg.Interval)
	if err != nil {
		return err
	}
	pb, err := p.Marshal()
	if err != nil {
		return err
	}
	if err := call(ctx, r.enrolHTTP, "PUT", r.base+"/api/v1/groups/"+r.cfg.Group+"/policy", r.cfg.AdminToken, pb, nil); err != nil {
		return fmt.Errorf("set the load group's policy: %w", err)
	}
	return nil
}

// images boots the profiles the run's hosts use.
func (r *runner) images() (map[emuhost.Profile]*Image, error) {
	profiles := []emuhost.Profile{emuhost.Good}
	if r.cfg.FailShare > 0 {
		profiles = append(profiles, failingProfiles...)
	}
	return BootImages(profiles)
}

// dropAll closes the connections the hosts hold (Park), once the turns
// sending waits are done.
func (r *runner) dropAll(hosts []*host) {
	r.parking.Wait()
	for _, h := range hosts {
		r.drop(h)
	}
}

// fill puts the measured run's counts and figures in rep.
func (r *runner) fill(rep *Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Attestations, rep.Errors, rep.Busy, rep.Retries, rep.Unexpected = len(r.lat), r.errs, r.busy, r.retries, r.unexp
	rep.Verdicts, rep.ErrorSample, rep.MaxLag = r.verdicts, r.errSample, r.maxLag
	rep.LogsByHash = int(r.logsByHash.Load())
	rep.BundlesByHash = int(r.bundlesByHash.Load())
	rep.HeldAttestations, rep.NewAttestations = r.heldAtt, r.newAtt
	rep.TLSHandshakes, rep.TLSResumed = int(r.tally.handshakes.Load()), int(r.tally.resumed.Load())
	w := &r.waits
	rep.Waits = WaitFigures{Parked: int(w.parked.Load()), Refused: int(w.refused.Load()), NotSent: int(w.notSent.Load()),
		Failed: int(w.failed.Load()), AttestNow: int(w.attestNow.Load()), HeldLost: int(w.heldLost.Load()), NewConn: int(w.newConn.Load()),
		ErrorSample: r.waitErrSample}
	rep.Rate = float64(len(r.lat)) / rep.Wall.Seconds()
	rep.setLatencies(r.lat)
	rep.Phases = summarisePhases(r.phases)
	rep.GeneratorGC = generatorGC(os.Getenv)
	if self, err := ReadProc(os.Getpid()); err == nil {
		rep.GeneratorRSS, rep.GeneratorHWM = self.RSSBytes, self.HWMBytes
	}
}

func cores(a, b ProcSample) float64 {
	if a.At.IsZero() || b.At.IsZero() || !b.At.After(a.At) {
		return 0
	}
	return float64(b.CPU-a.CPU) / float64(b.At.Sub(a.At))
}

func (r *runner) sample() (ProcSample, error) {
	if r.cfg.VerifierPID == 0 {
		return ProcSample{}, nil
	}
	return ReadProc(r.cfg.VerifierPID)
}

// watch samples the verifier's memory every second (for the peak) and
// prints progress; the returned function stops it.
func (r *runner) watch(ctx context.Context, rep *Report) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start, last := time.Now(), time.Now()
		var lastDone int64
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s, err := r.sample()
				if err == nil && s.RSSBytes > rep.VerifierRSSPeak {
					rep.VerifierRSSPeak = s.RSSBytes
				}
				if now.Sub(last) >= r.cfg.ProgressEvery {
					d := r.done.Load()
					r.mu.Lock()
					errs, busy := r.errs, r.busy
					tail := r.intervalTail()
					r.mu.Unlock()
					held := ""
					if r.cfg.Park {
						held = fmt.Sprintf(" held=%d", r.heldOpen.Load())
					}
					fmt.Fprintf(r.cfg.Progress, "t=%s attested=%d (%.0f/s) errors=%d shed=%d%s %s verifier_rss=%dMB\n",
						now.Sub(start).Round(time.Second), d, float64(d-lastDone)/now.Sub(last).Seconds(), errs, busy, held, tail,
						s.RSSBytes>>20)
					last, lastDone = now, d
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// intervalTail is the progress line's latency of the attestations
// recorded since the last line (r.lat[r.latSeen:]), so that a run's tail
// can be placed in time: a steady p99 and one made of a few bad seconds
// call for different fixes. The caller holds r.mu.
func (r *runner) intervalTail() string {
	recent := slices.Clone(r.lat[r.latSeen:])
	r.latSeen = len(r.lat)
	if len(recent) == 0 {
		return "p50=- p99=- max=-"
	}
	slices.Sort(recent)
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }
	return "p50=" + ms(percentile(recent, 0.50)) + " p99=" + ms(percentile(recent, 0.99)) + " max=" + ms(recent[len(recent)-1])
}

func (r *runner) noteError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs++
	if len(r.errSample) < 5 {
		r.errSample = append(r.errSample, err.Error())
	}
}

// enrolAll enrols the fleet with EnrolWorkers at a time. Host i is failing
// when it falls in the FailShare, spread evenly through the fleet.
func (r *runner) enrolAll(ctx context.Context, images map[emuhost.Profile]*Image) ([]*host, int) {
	hosts := make([]*host, r.cfg.Hosts)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	began := time.Now()
	for range r.cfg.EnrolWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= r.cfg.Hosts {
					return
				}
				im := images[emuhost.Good]
				if f := r.cfg.FailShare; f > 0 && int(float64(i+1)*f) > int(float64(i)*f) {
					im = images[failingProfiles[i%len(failingProfiles)]]
				}
				h, err := r.enrolHost(ctx, fmt.Sprintf("%s%06d", r.cfg.Prefix, i), im, r.cfg.Maker)
				if err != nil {
					failed.Add(1)
					r.noteError(err)
					continue
				}
				hosts[i] = h
				if n := i + 1; n%5000 == 0 {
					fmt.Fprintf(r.cfg.Progress, "enrolled %d in %s\n", n, time.Since(began).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	out := hosts[:0]
	for _, h := range hosts {
		if h != nil {
			out = append(out, h)
		}
	}
	return out, int(failed.Load())
}

// record notes one attestation's outcome.
func (r *runner) record(h *host, status string, took time.Duration, tn turn) {
	r.done.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, took)
	r.phases = append(r.phases, tn.Phases)
	if tn.held {
		r.heldAtt++
	} else {
		r.newAtt++
	}
	r.verdicts[status]++
	if status != h.im.Expect {
		r.unexp++
		if len(r.errSample) < 5 {
			r.errSample = append(r.errSample, fmt.Sprintf("%s (%s): %v %s, want %s", h.name, h.im.Profile, errUnexpected, status, h.im.Expect))
		}
	}
}

// schedule is the steady run's timetable: turn k is host k mod n's, at
// start + k*step. The measured run continues the warm-up's, so each host's
// turns stay an interval apart across the two (its parked wait asked for
// the time until its next turn).
type schedule struct {
	start time.Time
	step  time.Duration
	n     int
	k     int // the next turn to start
}

func newSchedule(n int, interval time.Duration) *schedule {
	return &schedule{start: time.Now(), step: interval / time.Duration(n), n: n}
}

func (s *schedule) due(k int) time.Time { return s.start.Add(time.Duration(k) * s.step) }

// steady runs the turns of sc due in the next d of its timetable: each
// host attests once per interval. A turn that cannot start on time
// (MaxInFlight reached, or the warm-up's last attestations still running)
// is started late and the lag noted; the turns due in the window are all
// started, however late, until as long again has passed.
func (r *runner) steady(ctx context.Context, hosts []*host, sc *schedule, d time.Duration) {
	end := sc.due(sc.k).Add(d)
	ctx, cancel := context.WithDeadline(ctx, end.Add(d))
	defer cancel()
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ; sc.due(sc.k).Before(end); sc.k++ {
		due := sc.due(sc.k)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		if lag := time.Since(due); lag > r.maxLag {
			r.mu.Lock()
			r.maxLag = max(r.maxLag, lag)
			r.mu.Unlock()
		}
		h, next := hosts[sc.k%len(hosts)], sc.due(sc.k+sc.n)
		wg.Add(1)
		r.parking.Add(1)
		go func() {
			defer r.parking.Done()
			// The request is not cut off by the run's end: it was sent in time.
			r.steadyTurn(context.WithoutCancel(ctx), h, next, func() { <-sem }, wg.Done)
		}()
	}
}

// steadyTurn is one turn of h: it attests, frees its place among the
// attestations in flight (release), notes the outcome (then done), and
// with Park sends h's wait for its next turn at next. Sending the wait is
// not waited for at the end of the warm-up (it lasts up to refuseGrace,
// and the measured run's turns would start late), only at Run's end.
func (r *runner) steadyTurn(ctx context.Context, h *host, next time.Time, release, done func()) {
	t0 := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var tn turn
	res, err := r.attest(ctx, h, &tn)
	release()
	var he *HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable:
		// The verifier shed load; the agent retries later. Counted
		// apart from errors, and the attestation is not done.
		r.mu.Lock()
		r.busy++
		r.mu.Unlock()
	case err != nil:
		r.noteError(fmt.Errorf("%s: %w", h.name, err))
	default:
		r.record(h, res.Status, time.Since(t0), tn)
	}
	done()
	if r.cfg.Park {
		r.park(ctx, h, next, err == nil)
	}
}

// coldStart starts every host at once, as a fleet does after a power cut,
// each retrying as the agent does (after a busy verifier's Retry-After
// plus up to as much jitter; otherwise exponential backoff from 500 ms with
// full jitter, at most 60 s) until it has a verdict. It returns when the
// last host had its verdict (or Duration passed).
func (r *runner) coldStart(ctx context.Context, hosts []*host) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	start := time.Now()
	var last atomic.Int64
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait := time.Duration(0)
			for ctx.Err() == nil {
				t0 := time.Now()
				var tn turn
				res, err := r.attest(ctx, h, &tn)
				if err == nil {
					r.record(h, res.Status, time.Since(t0), tn)
					for {
						l := last.Load()
						if n := int64(time.Since(start)); n <= l || last.CompareAndSwap(l, n) {
							break
						}
					}
					return
				}
				if !retryable(err) {
					r.noteError(fmt.Errorf("%s: %w", h.name, err))
					return
				}
				r.mu.Lock()
				r.retries++
				if len(r.errSample) < 5 {
					r.errSample = append(r.errSample, fmt.Sprintf("%s (retried): %v", h.name, err))
				}
				r.mu.Unlock()
				wait = min(max(2*wait, 500*time.Millisecond), time.Minute)
				pause := wait/2 + rand.N(wait/2+1)
				if he, ok := err.(*HTTPError); ok && he.RetryAfter > 0 {
					// As the agent does: what the busy verifier asked,
					// spread by up to as much again.
					pause = he.RetryAfter + rand.N(he.RetryAfter+1)
				}
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
			if ctx.Err() != nil {
				r.noteError(fmt.Errorf("%s: no verdict within %s", h.name, r.cfg.Duration))
			}
		}()
	}
	wg.Wait()
	return time.Duration(last.Load())
}

// endWarmup notes the warm-up's attestations, errors and unexpected
// verdicts in rep and starts the measured figures afresh.
func (r *runner) endWarmup(rep *Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.WarmupAttestations, rep.WarmupErrors, rep.WarmupUnexpected = len(r.lat), r.errs, r.unexp
	rep.WarmupErrorSample = r.errSample
	r.lat, r.latSeen, r.phases, r.verdicts, r.errs, r.busy, r.unexp, r.errSample, r.maxLag = nil, 0, nil, map[string]int{}, 0, 0, 0, nil, 0
	r.heldAtt, r.newAtt, r.waitErrSample = 0, 0, nil
	r.logsByHash.Store(0)
	r.bundlesByHash.Store(0)
	r.tally.handshakes.Store(0)
	r.tally.resumed.Store(0)
	r.waits.reset()
	r.phase.Add(1)
}
