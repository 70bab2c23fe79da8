package loadgen

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// KeepAlive keeps each host's connection open between attestations, as
	// the agent's long poll does; without it every attestation pays a TLS
	// handshake.
	KeepAlive bool
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

	mu        sync.Mutex
	lat       []time.Duration
	phases    []Phases
	verdicts  map[string]int
	errs      int
	busy      int
	retries   int
	unexp     int
	errSample []string
	maxLag    time.Duration
	done      atomic.Int64
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
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cfg.CAPEM) {
		return nil, errors.New("loadgen: verifier CA holds no PEM certificate")
	}
	r := &runner{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), pool: pool, verdicts: map[string]int{},
		enrolHTTP: &http.Client{Transport: newTransport(pool, nil, cfg.EnrolWorkers*2), Timeout: cfg.Timeout}}
	defer r.enrolHTTP.CloseIdleConnections()
	profiles := []emuhost.Profile{emuhost.Good}
	if cfg.FailShare > 0 {
		profiles = append(profiles, failingProfiles...)
	}
	images, err := BootImages(profiles)
	if err != nil {
		return nil, err
	}
	p, err := LoadPolicy(cfg.Interval)
	if err != nil {
		return nil, err
	}
	pb, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	if err := call(ctx, r.enrolHTTP, "PUT", r.base+"/api/v1/groups/"+cfg.Group+"/policy", cfg.AdminToken, pb, nil); err != nil {
		return nil, fmt.Errorf("set the load group's policy: %w", err)
	}
	rep := &Report{Hosts: cfg.Hosts, Interval: cfg.Interval, Mode: "steady", VerifierPID: cfg.VerifierPID}
	if cfg.ColdStart {
		rep.Mode = "cold-start"
	}
	s0, _ := r.sample()
	began := time.Now()
	hosts, enrolErrs := r.enrolAll(ctx, images)
	rep.EnrolTime, rep.Enrolled, rep.EnrolErrors = time.Since(began), len(hosts), enrolErrs
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
	if cfg.Warmup > 0 && !cfg.ColdStart {
		fmt.Fprintf(r.cfg.Progress, "warm-up for %s, not measured\n", cfg.Warmup)
		r.steady(ctx, hosts, cfg.Warmup)
		r.endWarmup(rep)
		s1, _ = r.sample()
		fmt.Fprintf(r.cfg.Progress, "warm-up done: %d attestations, %d errors; measuring\n", rep.WarmupAttestations, rep.WarmupErrors)
	}
	gcBefore := gcCycles()
	began = time.Now()
	if cfg.ColdStart {
		rep.LastVerdict = r.coldStart(ctx, hosts)
	} else {
		r.steady(ctx, hosts, cfg.Duration)
	}
	rep.Wall = time.Since(began)
	rep.GeneratorGCs = gcCycles() - gcBefore
	stop()
	s2, _ := r.sample()
	rep.VerifierCPU = cores(s1, s2)
	if s2.HWMBytes > 0 {
		rep.VerifierRSSEnd, rep.VerifierHWM = s2.RSSBytes, s2.HWMBytes
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Attestations, rep.Errors, rep.Busy, rep.Retries, rep.Unexpected = len(r.lat), r.errs, r.busy, r.retries, r.unexp
	rep.Verdicts, rep.ErrorSample, rep.MaxLag = r.verdicts, r.errSample, r.maxLag
	rep.LogsByHash = int(r.logsByHash.Load())
	rep.BundlesByHash = int(r.bundlesByHash.Load())
	rep.Rate = float64(len(r.lat)) / rep.Wall.Seconds()
	rep.setLatencies(r.lat)
	rep.Phases = summarisePhases(r.phases)
	rep.GeneratorGC = generatorGC(os.Getenv)
	return rep, nil
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
					r.mu.Unlock()
					fmt.Fprintf(r.cfg.Progress, "t=%s attested=%d (%.0f/s) errors=%d shed=%d verifier_rss=%dMB\n",
						now.Sub(start).Round(time.Second), d, float64(d-lastDone)/now.Sub(last).Seconds(), errs, busy, s.RSSBytes>>20)
					last, lastDone = now, d
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
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
func (r *runner) record(h *host, status string, took time.Duration, ph Phases) {
	r.done.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, took)
	r.phases = append(r.phases, ph)
	r.verdicts[status]++
	if status != h.im.Expect {
		r.unexp++
		if len(r.errSample) < 5 {
			r.errSample = append(r.errSample, fmt.Sprintf("%s (%s): %v %s, want %s", h.name, h.im.Profile, errUnexpected, status, h.im.Expect))
		}
	}
}

// steady spreads the hosts evenly over the interval and has each attest
// once per interval until Duration has passed. An attestation that cannot
// start on time (MaxInFlight reached) is started late and the lag noted.
func (r *runner) steady(ctx context.Context, hosts []*host, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	step := r.cfg.Interval / time.Duration(len(hosts))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * step)
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
		h := hosts[k%len(hosts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// The request is not cut off by the run's end: it was sent in time.
			t0 := time.Now()
			var ph Phases
			res, err := r.attest(context.WithoutCancel(ctx), h, &ph)
			var he *HTTPError
			if errors.As(err, &he) && he.Status == http.StatusServiceUnavailable {
				// The verifier shed load; the agent retries later. Counted
				// apart from errors, and the attestation is not done.
				r.mu.Lock()
				r.busy++
				r.mu.Unlock()
				return
			}
			if err != nil {
				r.noteError(fmt.Errorf("%s: %w", h.name, err))
				return
			}
			r.record(h, res.Status, time.Since(t0), ph)
		}()
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
				var ph Phases
				res, err := r.attest(ctx, h, &ph)
				if err == nil {
					r.record(h, res.Status, time.Since(t0), ph)
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
	r.lat, r.phases, r.verdicts, r.errs, r.busy, r.unexp, r.errSample, r.maxLag = nil, nil, map[string]int{}, 0, 0, 0, nil, 0
	r.logsByHash.Store(0)
	r.bundlesByHash.Store(0)
}
