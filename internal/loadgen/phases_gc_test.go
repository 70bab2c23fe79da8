package loadgen

import (
	"runtime"
	"testing"
)

// TestGCCyclesCounts: the count the report prints moves with the
// process's collections.
func TestGCCyclesCounts(t *testing.T) {
	before := gcCycles()
	runtime.GC()
	runtime.GC()
	if got := gcCycles() - before; got < 2 {
		t.Errorf("two collections counted as %d", got)
	}
}
