package e2e

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store/pgtest"
)

// balancer is a TCP load balancer, as operators put in front of replicas:
// each new connection goes to the next backend that accepts it.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Int64
	served   []atomic.Int64 // connections per backend
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, served: make([]atomic.Int64, len(backends))}
	go b.serve()
	t.Cleanup(func() { ln.Close() })
	return b
}

func (b *balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.proxy(c)
	}
}

func (b *balancer) proxy(c net.Conn) {
	defer c.Close()
	start := int(b.next.Add(1))
	for i := range b.backends {
		k := (start + i) % len(b.backends)
		up, err := net.DialTimeout("tcp", b.backends[k], time.Second)
		if err != nil {
			continue // down: try the next one
		}
		b.served[k].Add(1)
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
		<-done
		return
	}
}

// TestReplicasFailOver runs two verifier replicas on one PostgreSQL behind
// a load balancer, with a fleet of emulated hosts attesting every 3 s. It
// kills one replica (SIGKILL) and checks that every host is still attested
// on schedule by the other, never Unreachable, and that every attestation
// an agent was told about is stored exactly once.
func TestReplicasFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	t.Cleanup(pgtest.Stop) // runs last: after the database is dropped
	dsn := pgtest.Start(t)
	dir := t.TempDir()
	maker := filepath.Join(dir, "maker")
	if _, err := makerca.LoadOrCreate(maker); err != nil {
		t.Fatal(err)
	}
	addrs := []string{freePort(t), freePort(t)}
	replicas := make([]*proc, 2)
	for i, addr := range addrs {
		replicas[i] = start(t, "verifier", "--listen", addr, "--db", dsn, "--data", filepath.Join(dir, fmt.Sprint("data-", i)),
			"--ek-roots", maker)
		replicas[i].waitOutput(t, regexp.MustCompile(`verifier listening`), 30*time.Second)
	}
	lb := newBalancer(t, addrs...)
	url := "https://" + lb.ln.Addr().String()
	ca := filepath.Join(dir, "data-0", "ca.pem")
	ca1, _ := os.ReadFile(filepath.Join(dir, "data-1", "ca.pem"))
	if ca0, _ := os.ReadFile(ca); string(ca0) != string(ca1) || len(ca0) == 0 {
		t.Fatal("the replicas do not share one CA")
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data-0", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(client.Settings{URL: url, Token: strings.TrimSpace(string(tok)), CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}

	const interval = 3 * time.Second
	v, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.Interval, p.UnreachableAfter = interval, 2
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	b, _ := p.Marshal()
	if err := admin.Do(context.Background(), "PUT", "/api/v1/groups/lab/policy", b, nil); err != nil {
		t.Fatal(err)
	}

	names := []string{"r-01", "r-02", "r-03", "r-04", "r-05", "r-06"}
	hosts := map[string]*proc{}
	for _, n := range names {
		var jt api.JoinTokenResponse
		if err := admin.Do(context.Background(), "POST", "/api/v1/join-tokens", api.JoinTokenRequest{Group: "lab", Host: n, TTL: "10m"}, &jt); err != nil {
			t.Fatal(err)
		}
		hosts[n] = start(t, "host", "--profile", "good", "--name", n, "--state", filepath.Join(dir, "hosts", n),
			"--maker-ca", maker, "--verifier", url, "--ca", ca, "--join-token", jt.Token)
	}
	// Every host attests a few times on schedule with both replicas up.
	eventually(t, 60*time.Second, func() string {
		for _, n := range names {
			if acked(hosts[n]) < 3 {
				return n + " has not attested three times"
			}
		}
		return ""
	})
	if lb.served[0].Load() == 0 || lb.served[1].Load() == 0 {
		t.Fatalf("the balancer did not use both replicas: %d, %d connections", lb.served[0].Load(), lb.served[1].Load())
	}

	replicas[0].kill()
	killed := time.Now()
	t.Logf("killed replica 0 after %d connections (replica 1: %d)", lb.served[0].Load(), lb.served[1].Load())

	// Watch five intervals: every host keeps attesting through replica 1.
	time.Sleep(5 * interval)
	for _, n := range names {
		var page struct{ Items []api.Attestation }
		if err := admin.Do(context.Background(), "GET", "/api/v1/hosts/"+n+"/attestations?limit=1000&since="+killed.UTC().Format(time.RFC3339Nano), nil, &page); err != nil {
			t.Fatal(err)
		}
		// Newest first: the gaps between attestations since the kill, and
		// from the kill to the first, stay within an interval plus jitter
		// and the agent's reconnect backoff.
		last := time.Now()
		for _, a := range page.Items {
			if gap := last.Sub(a.At); gap > 2*interval {
				t.Errorf("%s: no attestation for %s before %s", n, gap.Round(time.Millisecond), last.Format(time.RFC3339Nano))
			}
			if a.Status != "Passed" {
				t.Errorf("%s: attestation at %s is %s", n, a.At, a.Status)
			}
			last = a.At
		}
		if gap := last.Sub(killed); gap > 2*interval {
			t.Errorf("%s: first attestation %s after the kill", n, gap.Round(time.Millisecond))
		}
		if len(page.Items) < 3 {
			t.Errorf("%s: %d attestations in the %s after the kill, want at least 3", n, len(page.Items), 5*interval)
		}
		var hist struct{ Items []api.HistoryEntry }
		if err := admin.Do(context.Background(), "GET", "/api/v1/hosts/"+n+"/history", nil, &hist); err != nil {
			t.Fatal(err)
		}
		if len(hist.Items) != 1 || hist.Items[0].To != "Passed" {
			t.Errorf("%s: history %+v, want only Pending -> Passed (never Unreachable)", n, hist.Items)
		}
	}
	if t.Failed() {
		return
	}

	// No verdict lost or duplicated: stop the agents, then compare what
	// each was told with what the surviving replica shows.
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() { defer wg.Done(); hosts[n].stop() }()
	}
	wg.Wait()
	for _, n := range names {
		got, err := stored(t, admin, n)
		if err != nil {
			t.Fatal(err)
		}
		want := acked(hosts[n])
		t.Logf("%s: %d attestations acknowledged, %d stored", n, want, got)
		// One attestation may have been recorded by the killed replica
		// after its answer could no longer reach the agent.
		if got < want || got > want+1 {
			t.Errorf("%s: %d attestations stored, %d acknowledged to the agent", n, got, want)
		}
	}
}
