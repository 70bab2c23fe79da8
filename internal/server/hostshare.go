package server

import "sync"

// hostShares counts each host's admitted requests in flight, so that one
// host holds at most max of the shared slots and body reads. A host's
// entry lives only while it has a request in flight: the map is as large
// as the requests being served, not as the fleet.
type hostShares struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newHostShares(max int) *hostShares {
	return &hostShares{max: max, n: map[string]int{}}
}

// acquire counts one more request of host in, unless it has max already.
func (s *hostShares) acquire(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[host] >= s.max {
		return false
	}
	s.n[host]++
	return true
}

// release counts a request of host out.
func (s *hostShares) release(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[host] <= 1 {
		delete(s.n, host)
		return
	}
	s.n[host]--
}

// inFlight is how many hosts have a request in flight (for tests).
func (s *hostShares) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}
