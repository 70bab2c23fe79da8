package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// The memory measurement of waiting agents (issue #11). It is opt-in:
//
//	BOOTPROOF_PARKMEM=10000 go test ./internal/server -run '^TestParkMemory$' -v -timeout 20m
//
// The verifier runs as its own process (this test binary run again, serving
// through Server.Run exactly as `bootproof verifier` does), so its figures
// hold nothing of the N simulated agents, which live in this process: each
// agent is a TLS connection with its own client certificate holding
// GET /agent/v1/wait open, re-asking as soon as an answer comes. The
// verifier reports its heap and goroutines after a GC (runtime.MemStats) and
// this process reads its VmRSS from /proc/PID/status, before the agents
// connect (hosts enrolled, store warm) and once all N wait; the difference
// divided by N is the cost of one waiting agent. Kernel socket buffers are
// not in RSS and not counted.
//
// With BOOTPROOF_PARKMEM_MAX=M (< N) the verifier parks at most M waits
// (--max-parked): the other agents are answered at once with the hint not
// to wait again before their turn, which they follow as the agent does (they
// stop asking); the difference is then divided by M: what M parked waits
// cost, and the little the refused leave behind.

const (
	parkMemEnv      = "BOOTPROOF_PARKMEM"
	parkMemDirEnv   = "BOOTPROOF_PARKMEM_VERIFIER"
	parkMemHostsEnv = "BOOTPROOF_PARKMEM_HOSTS"
	parkMemMaxEnv   = "BOOTPROOF_PARKMEM_MAX"
	parkMemPrefix   = "parkmem "
	// parkMemProfileEnv names a file for the verifier's heap profile
	// (in-use space after a GC) with every agent waiting.
	parkMemProfileEnv = "BOOTPROOF_PARKMEM_PROFILE"
)

// memStats is what the verifier process reports of itself.
type memStats struct {
	HeapInuse uint64 `json:"heap_inuse"`
	// HeapAlloc is the live heap: HeapInuse less the free space in the
	// spans in use (fragmentation).
	HeapAlloc  uint64 `json:"heap_alloc"`
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
	Goroutines int    `json:"goroutines"`
	Waiting    int    `json:"waiting"`
	Parked     int    `json:"parked"`
	RSS        int64  `json:"rss"`
}

func TestParkMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(parkMemEnv))
	if n <= 0 {
		t.Skipf("set %s=N (2000 to 10000) to measure the verifier's memory per waiting agent", parkMemEnv)
	}
	parked := n
	if m, _ := strconv.Atoi(os.Getenv(parkMemMaxEnv)); m > 0 && m < n {
		parked = m
	}
	dir := t.TempDir()
	v := startMemVerifier(t, dir, n)
	certs := loadMemCerts(t, dir)
	if len(certs) != n {
		t.Fatalf("verifier enrolled %d hosts, want %d", len(certs), n)
	}
	base := v.sample(t)
	t.Logf("baseline, %d hosts enrolled, none connected: %s", n, base)

	agents := &memAgents{}
	defer agents.close()
	start := time.Now()
	if err := agents.connect(v.addr, certs, v.caPool(t)); err != nil {
		t.Fatalf("connect agents: %v", err)
	}
	t.Logf("%d agents connected in %s", n, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		waiting, nowParked := v.count(t)
		if waiting >= parked && agents.refused.Load() >= int64(n-parked) {
			t.Logf("%d waiting (%d parked), %d told to wait for their turn", waiting, nowParked, agents.refused.Load())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d agents waiting and %d refused after 3 minutes (%d answers failed)", waiting, parked,
				agents.refused.Load(), agents.failed.Load())
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	var samples []memStats
	for range 3 {
		samples = append(samples, v.sample(t))
		time.Sleep(2 * time.Second)
	}
	if f := agents.failed.Load(); f > 0 {
		t.Errorf("%d agents' waits failed", f)
	}
	if r := agents.refused.Load(); r != int64(n-parked) {
		t.Errorf("%d agents refused, want %d", r, n-parked)
	}
	if path := os.Getenv(parkMemProfileEnv); path != "" {
		if l := v.ask(t, "profile "+path); l != "profiled" {
			t.Errorf("heap profile: %s", l)
		}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].RSS < samples[j].RSS })
	s := samples[1] // the median by RSS
	t.Logf("with %d agents waiting (%d parked): %s", n, parked, s)
	per := func(after, before float64) float64 { return (after - before) / float64(parked) / 1024 }
	t.Logf("PER PARKED WAIT (N=%d, %d parked): RSS %.1f KiB, heap in use %.1f KiB (live %.1f KiB), stacks %.1f KiB, goroutines %.2f, %d answered waits",
		n, parked, per(float64(s.RSS), float64(base.RSS)), per(float64(s.HeapInuse), float64(base.HeapInuse)),
		per(float64(s.HeapAlloc), float64(base.HeapAlloc)),
		per(float64(s.StackInuse), float64(base.StackInuse)), float64(s.Goroutines-base.Goroutines)/float64(parked),
		agents.answers.Load())

	// Every agent is woken at once: each parked one must get attest=true.
	asked := time.Now()
	if l := v.ask(t, "attest"); l != "attested "+strconv.Itoa(n) {
		t.Fatalf("attest now for all: %s", l)
	}
	for agents.woken.Load() < int64(parked) {
		if time.Since(asked) > time.Minute {
			t.Fatalf("%d of %d agents woken within a minute of attest now", agents.woken.Load(), parked)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("attest now for all %d: every parked agent (%d) answered attest=true within %s", n, parked,
		time.Since(asked).Round(time.Millisecond))
}

func (s memStats) String() string {
	return fmt.Sprintf("RSS %.1f MiB, heap in use %.1f MiB (live %.1f MiB), stacks %.1f MiB, Go sys %.1f MiB, %d goroutines, %d waiting, %d parked",
		float64(s.RSS)/(1<<20), float64(s.HeapInuse)/(1<<20), float64(s.HeapAlloc)/(1<<20), float64(s.StackInuse)/(1<<20), float64(s.Sys)/(1<<20),
		s.Goroutines, s.Waiting, s.Parked)
}

// memVerifier is the verifier process and its command line.
type memVerifier struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	addr  string
	dir   string
}

func startMemVerifier(t *testing.T, dir string, n int) *memVerifier {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestParkMemoryVerifier$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), parkMemDirEnv+"="+dir, parkMemHostsEnv+"="+strconv.Itoa(n), parkMemEnv+"=")
	// BOOTPROOF_PARKMEM_MAX, if set, reaches the verifier process with the
	// environment.
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start verifier process: %v", err)
	}
	v := &memVerifier{cmd: cmd, in: in, lines: make(chan string, 16), dir: dir}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), parkMemPrefix); ok {
				v.lines <- l
			}
		}
		close(v.lines)
	}()
	t.Cleanup(func() {
		in.Close() // the verifier stops at the end of its input
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	l := v.next(t, 10*time.Minute)
	addr, ok := strings.CutPrefix(l, "ready ")
	if !ok {
		t.Fatalf("verifier process said %q, want ready ADDR", l)
	}
	v.addr = addr
	return v
}

func (v *memVerifier) next(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-v.lines:
		if !ok {
			t.Fatal("the verifier process ended")
		}
		return l
	case <-time.After(limit):
		t.Fatalf("no answer from the verifier process within %s", limit)
	}
	return ""
}

func (v *memVerifier) ask(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := fmt.Fprintln(v.in, cmd); err != nil {
		t.Fatalf("ask the verifier process: %v", err)
	}
	return v.next(t, time.Minute)
}

func (v *memVerifier) count(t *testing.T) (waiting, parked int) {
	t.Helper()
	l := v.ask(t, "count")
	if _, err := fmt.Sscanf(l, "count %d %d", &waiting, &parked); err != nil {
		t.Fatalf("verifier process said %q: %v", l, err)
	}
	return waiting, parked
}

// sample has the verifier collect garbage and report; RSS is read here
// from /proc, as loadgen --verifier-pid reads it.
func (v *memVerifier) sample(t *testing.T) memStats {
	t.Helper()
	var s memStats
	l := v.ask(t, "stats")
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "stats ")), &s); err != nil {
		t.Fatalf("verifier process said %q: %v", l, err)
	}
	p, err := loadgen.ReadProc(v.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	s.RSS = p.RSSBytes
	return s
}

func (v *memVerifier) caPool(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no CA certificate in ca.pem")
	}
	return pool
}

// loadMemCerts reads the client certificates the verifier process made,
// one per host, all for the one key in key.pem.
func loadMemCerts(t *testing.T, dir string) []tls.Certificate {
	t.Helper()
	keyPEM, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certsPEM, err := os.ReadFile(filepath.Join(dir, "certs.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var out []tls.Certificate
	for len(certsPEM) > 0 {
		var b *pem.Block
		b, certsPEM = pem.Decode(certsPEM)
		if b == nil {
			break
		}
		c, err := tls.X509KeyPair(pem.EncodeToMemory(b), keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// memAgents are the simulated agents: one connection each, holding a wait.
type memAgents struct {
	mu      sync.Mutex
	conns   []*tls.Conn
	failed  atomic.Int64
	answers atomic.Int64
	woken   atomic.Int64
	refused atomic.Int64 // told to wait for their turn without a wait
}

const memWaitRequest = "GET /agent/v1/wait?timeout=600000 HTTP/1.1\r\nHost: verifier\r\nUser-Agent: parkmem\r\n\r\n"

func (a *memAgents) connect(addr string, certs []tls.Certificate, pool *x509.CertPool) error {
	work := make(chan tls.Certificate)
	errs := make(chan error, len(certs))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				errs <- a.dial(addr, c, pool)
			}
		}()
	}
	for _, c := range certs {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func (a *memAgents) dial(addr string, cert tls.Certificate, pool *x509.CertPool) error {
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		ServerName: "127.0.0.1"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	c := nc.(*tls.Conn)
	a.mu.Lock()
	a.conns = append(a.conns, c)
	a.mu.Unlock()
	if _, err := io.WriteString(c, memWaitRequest); err != nil {
		return fmt.Errorf("send wait: %w", err)
	}
	go a.hold(c)
	return nil
}

// hold reads each answer and asks again, as an agent whose turn is far.
func (a *memAgents) hold(c *tls.Conn) {
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			a.failIfOpen(err)
			return
		}
		var w wire.WaitResponse
		err = json.NewDecoder(resp.Body).Decode(&w)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			a.failed.Add(1)
			return
		}
		a.answers.Add(1)
		if w.Attest {
			// An agent would attest now; this one only counts it.
			a.woken.Add(1)
			return
		}
		if w.RetryAfterSeconds > 0 {
			// Over the verifier's bound: an agent waits for its turn
			// without a wait; the verifier closes the connection.
			a.refused.Add(1)
			return
		}
		if _, err := io.WriteString(c, memWaitRequest); err != nil {
			a.failIfOpen(err)
			return
		}
	}
}

var memClosing atomic.Bool

func (a *memAgents) failIfOpen(err error) {
	if !memClosing.Load() && !errors.Is(err, net.ErrClosed) {
		a.failed.Add(1)
	}
}

func (a *memAgents) close() {
	memClosing.Store(true)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		c.Close()
	}
}

// TestParkMemoryVerifier is the verifier process of TestParkMemory.
func TestParkMemoryVerifier(t *testing.T) {
	dir := os.Getenv(parkMemDirEnv)
	if dir == "" {
		t.Skip("the verifier process of TestParkMemory")
	}
	n, err := strconv.Atoi(os.Getenv(parkMemHostsEnv))
	if err != nil {
		t.Fatalf("%s: %v", parkMemHostsEnv, err)
	}
	if os.Getenv(parkMemProfileEnv) != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact profile
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	maxParked, _ := strconv.Atoi(os.Getenv(parkMemMaxEnv))
	s, err := Open(ctx, Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		ServerNames: []string{"127.0.0.1"}, Log: slog.New(slog.DiscardHandler), MaxParked: maxParked,
		Ready: func(addr string) { ready <- addr }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := enrolMemHosts(ctx, s, dir, n); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case addr := <-ready:
		fmt.Println(parkMemPrefix + "ready " + addr)
	case err := <-done:
		t.Fatalf("verifier stopped: %v", err)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if path, ok := strings.CutPrefix(sc.Text(), "profile "); ok {
			fmt.Println(parkMemPrefix + writeHeapProfile(path))
			continue
		}
		switch sc.Text() {
		case "attest":
			n, err := s.Verifier.AttestNow(ctx, "parkmem", store.AttestSelector{All: true})
			if err != nil {
				fmt.Printf("%sattest failed: %v\n", parkMemPrefix, err)
				continue
			}
			fmt.Printf("%sattested %d\n", parkMemPrefix, n)
		case "count":
			fmt.Printf("%scount %d %d\n", parkMemPrefix, s.Verifier.Waiting(), parkedNow(s))
		case "stats":
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b, _ := json.Marshal(memStats{HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc, StackInuse: ms.StackInuse, Sys: ms.Sys,
				Goroutines: runtime.NumGoroutine(), Waiting: s.Verifier.Waiting(), Parked: parkedNow(s)})
			fmt.Printf("%sstats %s\n", parkMemPrefix, b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// enrolMemHosts enrols n hosts without a TPM straight into the store, with
// client certificates for one key (the agents' side needs no key of its
// own per host), and reads each once so that the store is warm before the
// baseline is taken.
func enrolMemHosts(ctx context.Context, s *Server, dir string, n int) error {
	keyPEM, pubDER, err := pki.NewClientKey()
	if err != nil {
		return err
	}
	if err := s.Verifier.EnsureGroup(ctx, "default"); err != nil {
		return err
	}
	var certs []byte
	for i := range n {
		certPEM, err := enrolTestHost(ctx, s, fmt.Sprintf("parkmem-%05d", i), pubDER)
		if err != nil {
			return err
		}
		certs = append(certs, certPEM...)
	}
	for i := range n {
		if _, err := s.Store.GetHost(ctx, fmt.Sprintf("parkmem-%05d", i)); err != nil {
			return err
		}
	}
	for name, b := range map[string][]byte{"key.pem": keyPEM, "certs.pem": certs, "ca.pem": s.CA.CertPEM()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func writeHeapProfile(path string) string {
	f, err := os.Create(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return err.Error()
	}
	return "profiled"
}

// parkedNow is how many connections the verifier holds parked.
func parkedNow(s *Server) int { return s.parker.Parked() }
