package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
)

// acked counts the attestations a host's agent was told the verifier
// recorded: one "attested" log line per evidence answer it received.
func acked(p *proc) int { return strings.Count(p.output(), `"msg":"attested"`) }

// stored counts a host's attestations the verifier shows through the API.
func stored(t *testing.T, c *client.Client, host string) (int, error) {
	t.Helper()
	items, err := attestationsOf(c, host)
	return len(items), err
}

// attestationsOf lists a host's attestations as the API shows them.
func attestationsOf(c *client.Client, host string) ([]api.Attestation, error) {
	var page struct{ Items []api.Attestation }
	err := c.Do(context.Background(), "GET", "/api/v1/hosts/"+host+"/attestations?limit=1000", nil, &page)
	return page.Items, err
}

// TestCrashKeepsAcknowledgedVerdicts kills the verifier with SIGKILL in the
// middle of a burst of attestations (every host asked again and again) and
// restarts it on the same data. Every attestation an agent had been told
// was recorded must be there; at most one more per host (recorded, but the
// answer was lost with the process) may be; and the agents come back by
// themselves.
func TestCrashKeepsAcknowledgedVerdicts(t *testing.T) {
	f := newFleet(t)
	names := []string{"c-01", "c-02", "c-03", "c-04"}
	hosts := map[string]*proc{}
	for _, n := range names {
		hosts[n] = f.host(n, "good", f.joinToken(n, "10m"))
	}
	eventually(t, 30*time.Second, func() string {
		for _, n := range names {
			if acked(hosts[n]) == 0 {
				return n + " has not attested"
			}
		}
		return ""
	})

	// The burst: ask every host to attest, over and over, until the kill.
	ctx, stopBurst := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_ = f.admin.Do(ctx, "POST", "/api/v1/attest", api.AttestRequest{All: true}, nil)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	before := map[string]int{}
	for _, n := range names {
		before[n] = acked(hosts[n])
	}
	eventually(t, 30*time.Second, func() string {
		for _, n := range names {
			if acked(hosts[n]) < before[n]+3 {
				return n + " has not attested three more times in the burst"
			}
		}
		return ""
	})
	f.verifier.kill()
	stopBurst()
	wg.Wait()
	// Let the last answers received before the kill reach the logs.
	time.Sleep(500 * time.Millisecond)
	atKill := map[string]int{}
	for _, n := range names {
		atKill[n] = acked(hosts[n])
	}
	t.Logf("acknowledged before the kill: %v", atKill)

	f.startVerifier()
	for _, n := range names {
		got, err := stored(t, f.admin, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if got < atKill[n] || got > atKill[n]+1 {
			t.Errorf("%s: %d attestations stored after the restart, %d acknowledged before the kill (want %d or %d)",
				n, got, atKill[n], atKill[n], atKill[n]+1)
		}
	}

	// The agents reconnect by themselves and answer attest-now again.
	mark := time.Now()
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/attest", api.AttestRequest{All: true}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() string {
		for _, n := range names {
			h, err := f.get(n)
			if err != nil || h.LastAttested == nil || h.LastAttested.Before(mark) || h.Status != "Passed" {
				return fmt.Sprintf("%s has not attested since the restart (%+v, %v)", n, h, err)
			}
		}
		return ""
	})
	// Everything acknowledged over the whole run is stored exactly once.
	time.Sleep(500 * time.Millisecond)
	for _, n := range names {
		got, _ := stored(t, f.admin, n)
		total := acked(hosts[n])
		if got < total || got > total+1 {
			t.Errorf("%s: %d attestations stored, %d acknowledged in all (want %d, or one more lost in the kill)", n, got, total, total)
		}
	}
}
