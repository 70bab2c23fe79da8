package cli

import (
	"runtime/debug"
	"strconv"
)

// The verifier's garbage collector, unless the operator sets GOGC or
// GOMEMLIMIT.
//
// The verifier's live heap is small (about 60 MB with 100,000 hosts: the
// store holds the fleet) while every attestation allocates about 300 KB that
// is garbage once its verdict is recorded. With Go's default (a collection
// each time the heap doubles) that is dozens of collections a second at
// 333 attestations a second, each stopping every goroutine twice and taxing
// the allocating ones, the store's single writer among them. A collection
// when the heap has grown five-fold instead costs a few hundred MB of
// memory; the soft limit has the collector work harder before the heap
// passes it, so a verifier with a large live heap (many parked waits) does
// not grow to five times that.
const (
	verifierGCPercent   = 400
	verifierMemoryLimit = 2 << 30
)

// verifierGC returns the collector settings to apply given the environment:
// a setting the operator made is kept (0 or -1 says "leave it").
func verifierGC(getenv func(string) string) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv("GOGC") == "" {
		percent = verifierGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		limit = verifierMemoryLimit
	}
	return percent, limit
}

// tuneVerifierGC applies verifierGC and says what it set, for the log.
func tuneVerifierGC(getenv func(string) string) []any {
	percent, limit := verifierGC(getenv)
	var attrs []any
	if percent >= 0 {
		debug.SetGCPercent(percent)
		attrs = append(attrs, "gogc", strconv.Itoa(percent))
	}
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
		attrs = append(attrs, "gomemlimit_bytes", limit)
	}
	return attrs
}
