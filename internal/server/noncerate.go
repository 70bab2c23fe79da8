package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NonceAllowance is each host's nonce allowance: a token bucket of Burst
// nonces refilled at one per Every.
type NonceAllowance struct {
	Burst int
	Every time.Duration
}

// DefaultNonceAllowance: an agent asks for one nonce per attestation (and its
// evidence, sent again with the event log after evidence.event_log_unknown,
// answers the same nonce): one at start, one per interval (at least a few
// seconds in any real group) and one per "attest now". Twenty at once
// covers a restart loop and an operator pressing "attest now" repeatedly;
// one a second after that is more than an agent on any interval needs,
// while it cuts a host that asked for 63,573 nonces in 16 s (issue #19)
// to 36. The allowance is per replica: behind a load balancer of R
// replicas a host may get R times it.
var DefaultNonceAllowance = NonceAllowance{Burst: 20, Every: time.Second}

// NoNonceLimit turns the per-host nonce allowance off (--host-nonces off):
// for a verifier behind a proxy that limits hosts itself, or a test of the
// layers behind it.
var NoNonceLimit = NonceAllowance{Burst: -1}

// ParseNonceAllowance reads "BURST/PERIOD" (e.g. "20/1s": twenty at once,
// then one per second) or "off".
func ParseNonceAllowance(s string) (NonceAllowance, error) {
	if s == "off" {
		return NoNonceLimit, nil
	}
	b, p, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(b)
	if !ok || err != nil || burst < 1 {
		return NonceAllowance{}, fmt.Errorf("%q: want BURST/PERIOD with BURST at least 1 (e.g. 20/1s), or off", s)
	}
	every, err := time.ParseDuration(p)
	if err != nil || every <= 0 || every > time.Hour {
		return NonceAllowance{}, fmt.Errorf("%q: the period %q must be a duration between 1ns and 1h (e.g. 1s)", s, p)
	}
	return NonceAllowance{Burst: burst, Every: every}, nil
}

// String is the allowance as ParseNonceAllowance reads it.
func (a NonceAllowance) String() string {
	if a.Burst <= 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%s", a.Burst, a.Every)
}

// nonceBuckets holds the hosts' buckets as GCRA does: for each host, the
// time at which its bucket will be full again ("theoretical arrival
// time"). A host whose bucket is full needs no entry, so entries lapse by
// themselves and are dropped when the map has doubled since the last
// prune: the map holds the hosts that asked in the last Burst×Every (20 s),
// about 6,700 at a fleet's 333 attestations a second.
type nonceBuckets struct {
	limit   NonceAllowance
	mu      sync.Mutex
	full    map[string]time.Time
	pruneAt int
}

// minNoncePrune is the least size at which lapsed entries are dropped.
const minNoncePrune = 1024

func newNonceBuckets(l NonceAllowance) *nonceBuckets {
	return &nonceBuckets{limit: l, full: map[string]time.Time{}, pruneAt: minNoncePrune}
}

// take spends one of host's nonces at now, or says how long until it has
// one again.
func (b *nonceBuckets) take(host string, now time.Time) (wait time.Duration, ok bool) {
	if b.limit.Burst <= 0 {
		return 0, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	full := b.full[host]
	if full.Before(now) {
		full = now
	}
	// The bucket holds Burst tokens when full; each nonce moves the time
	// it is full again one Every later.
	tolerance := time.Duration(b.limit.Burst-1) * b.limit.Every
	if over := full.Sub(now) - tolerance; over > 0 {
		return over, false
	}
	b.prune(now)
	b.full[host] = full.Add(b.limit.Every)
	return 0, true
}

// prune drops the entries of full buckets once the map has grown to
// pruneAt; the caller holds mu.
func (b *nonceBuckets) prune(now time.Time) {
	if len(b.full) < b.pruneAt {
		return
	}
	for h, t := range b.full {
		if !t.After(now) {
			delete(b.full, h)
		}
	}
	b.pruneAt = max(2*len(b.full), minNoncePrune)
}
