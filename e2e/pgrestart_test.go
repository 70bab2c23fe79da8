package e2e

import (
	"context"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store/pgtest"
)

// TestPostgresRestartedUnderLoad restarts the verifier's PostgreSQL while
// hosts attest every two seconds: the verifier keeps running, refuses what
// it cannot store while the database is down (the agents retry), and the
// hosts are attested again, still Passed, with nothing in their history
// but their first verdict.
func TestPostgresRestartedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	t.Cleanup(pgtest.Stop) // runs last: after the database is dropped
	dsn := pgtest.Start(t)
	f := newFleet(t, "--db", dsn)
	v, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.Interval, p.UnreachableAfter, p.VerdictMaxAge = 2*time.Second, 30, time.Minute
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.admin.Do(context.Background(), "PUT", "/api/v1/groups/lab/policy", b, nil); err != nil {
		t.Fatal(err)
	}
	hosts := []string{"pg-01", "pg-02"}
	for _, n := range hosts {
		f.host(n, "good", f.joinToken(n, "10m"))
	}
	eventually(t, 30*time.Second, func() string {
		for _, n := range hosts {
			if h, err := f.get(n); err != nil || h.Status != "Passed" {
				return fmt.Sprintf("%s not Passed yet (%v)", n, err)
			}
		}
		return ""
	})

	pgtest.Restart(t, 3*time.Second)
	back := time.Now()

	eventually(t, 60*time.Second, func() string {
		for _, n := range hosts {
			h, err := f.get(n)
			if err != nil {
				return fmt.Sprintf("%s: %v", n, err)
			}
			if h.LastAttested == nil || !h.LastAttested.After(back) || h.Status != "Passed" {
				return fmt.Sprintf("%s not attested since the database came back (%s, %v)", n, h.Status, h.LastAttested)
			}
		}
		return ""
	})
	select {
	case <-f.verifier.done:
		t.Fatalf("the verifier exited when its database restarted:\n%s", f.verifier.output())
	default:
	}
	for _, n := range hosts {
		var hist struct {
			Items []api.HistoryEntry `json:"items"`
		}
		if err := f.admin.Do(context.Background(), "GET", "/api/v1/hosts/"+n+"/history", nil, &hist); err != nil {
			t.Fatal(err)
		}
		for _, e := range hist.Items {
			if e.To != "Passed" {
				t.Errorf("%s went %s -> %s (%s) around the restart", n, e.From, e.To, e.Reason)
			}
		}
	}
}
