package loadgen

import (
	"testing"
	"time"
)

// The progress line's latency covers only the attestations since the last
// line, so that a bad minute shows in time rather than vanishing in the
// run's percentiles, and it starts again after the warm-up's reset.
func TestIntervalTail(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	var r runner
	steps := []struct {
		add   []time.Duration
		reset bool
		want  string
	}{
		{want: "p50=- p99=- max=-"},
		{add: ms(900, 10, 20), want: "p50=20.0ms p99=20.0ms max=900.0ms"},
		{add: ms(5, 7), want: "p50=5.0ms p99=5.0ms max=7.0ms"},
		{want: "p50=- p99=- max=-"},
		{reset: true, add: ms(3, 4, 6), want: "p50=4.0ms p99=4.0ms max=6.0ms"},
	}
	for i, s := range steps {
		if s.reset { // as the end of the warm-up does
			r.lat, r.latSeen = nil, 0
		}
		r.lat = append(r.lat, s.add...)
		if got := r.intervalTail(); got != s.want {
			t.Errorf("line %d: %q, want %q", i, got, s.want)
		}
	}
	if r.lat[0] != 3*time.Millisecond {
		t.Errorf("intervalTail reordered the run's latencies: %v", r.lat)
	}
}
