package api

import (
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// TestConnHostTake: a kept host is taken once, by the certificate it was
// read for, while it is fresh; a connection without ConnContext keeps none.
func TestConnHostTake(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h := store.Host{Name: "esx-01", ClientCertSHA256: "fp-1"}
	tests := []struct {
		name   string
		c      *connHost
		keep   bool
		takeFP string
		after  time.Duration
		want   bool
	}{
		{"same certificate, at once", new(connHost), true, "fp-1", 0, true},
		{"same certificate, at the bound", new(connHost), true, "fp-1", connHostFresh, true},
		{"same certificate, past the bound", new(connHost), true, "fp-1", connHostFresh + time.Millisecond, false},
		{"a clock gone back", new(connHost), true, "fp-1", -time.Second, false},
		{"another certificate", new(connHost), true, "fp-2", time.Second, false},
		{"nothing kept", new(connHost), false, "fp-1", time.Second, false},
		{"no ConnContext", nil, true, "fp-1", time.Second, false},
	}
	for _, tt := range tests {
		if tt.keep {
			tt.c.keep(h, "fp-1", t0)
		}
		got, ok := tt.c.take(tt.takeFP, t0.Add(tt.after))
		if ok != tt.want || (ok && got.Name != h.Name) {
			t.Errorf("%s: take = %q, %v; want %v", tt.name, got.Name, ok, tt.want)
		}
		if _, again := tt.c.take(tt.takeFP, t0.Add(tt.after)); again {
			t.Errorf("%s: a second take found the host again", tt.name)
		}
	}
}

// TestConnHostRoutes: the routes named in connHostUses are agent routes
// of the route table, so a renamed route cannot silently lose its use.
func TestConnHostRoutes(t *testing.T) {
	agent := map[string]bool{}
	for _, rt := range routes {
		agent[rt.Method+" "+rt.Path] = rt.Agent
	}
	for k := range connHostUses {
		if !agent[k] {
			t.Errorf("connHostUses names %q, which is not an agent route", k)
		}
	}
}
