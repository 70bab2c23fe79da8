package loadgen

import (
	"strings"
	"testing"
	"time"
)

// TestFDPlan: a run that would pass the file descriptor limit is refused
// before it starts, saying why, and --park's held connections get the
// bound that is left.
func TestFDPlan(t *testing.T) {
	const limit = 20000
	reserve := fdReserve(Config{EnrolWorkers: 16}) // 96
	for _, tc := range []struct {
		name    string
		cfg     Config
		limit   int
		heldCap int
		err     string // in the error, "" for none
	}{
		{"reconnect, within", Config{Hosts: 50000, MaxInFlight: 512}, limit, 0, ""},
		{"reconnect, too many in flight", Config{Hosts: 50000, MaxInFlight: limit}, limit, 0, "attestations in flight"},
		{"keep-alive, within", Config{Hosts: limit - reserve, MaxInFlight: 512, KeepAlive: true}, limit, 0, ""},
		{"keep-alive, over", Config{Hosts: 50000, MaxInFlight: 512, KeepAlive: true}, limit, 0, "keep-alive holds a connection"},
		{"cold start, over", Config{Hosts: 50000, ColdStart: true}, limit, 0, "cold start connects all 50000"},
		{"park, fleet over the limit", Config{Hosts: 50000, MaxInFlight: 512, Park: true}, limit, limit - reserve - 512, ""},
		{"park, fleet within", Config{Hosts: 40, MaxInFlight: 512, Park: true}, limit, 40, ""},
		{"park, own bound", Config{Hosts: 50000, MaxInFlight: 512, Park: true, MaxHeld: 5000}, limit, 5000, ""},
		{"park, limit unknown", Config{Hosts: 50000, MaxInFlight: 512, Park: true}, 0, 50000, ""},
	} {
		tc.cfg.EnrolWorkers = 16
		heldCap, err := fdPlan(tc.cfg, tc.limit)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "ulimit -Hn")):
			t.Errorf("%s: error %v, want one saying %q and the limit", tc.name, err, tc.err)
		case heldCap != tc.heldCap:
			t.Errorf("%s: held connections bounded at %d, want %d", tc.name, heldCap, tc.heldCap)
		}
	}
}

// TestParkConfig: --park is refused where it has no meaning, saying why.
func TestParkConfig(t *testing.T) {
	base := Config{URL: "https://v", CAPEM: []byte("x"), AdminToken: "t", Hosts: 1, Duration: 1, Interval: 1, Park: true}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"cold start", func(c *Config) { c.ColdStart = true }, "cold start"},
		{"keep-alive", func(c *Config) { c.KeepAlive = true }, "park and keep-alive"},
		{"interval over the verifier's longest wait", func(c *Config) { c.Interval = 11 * time.Minute }, "longest wait"},
	} {
		cfg := base
		tc.edit(&cfg)
		if err := cfg.defaults(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		}
	}
}
