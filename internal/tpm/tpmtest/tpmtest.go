package tpmtest

import (
	"testing"

	"github.com/bootproof/bootproof/internal/tpm"
)

// NewSimulator opens the reference TPM with the given seed (the same seed
// gives the same EK and SRK) and closes it at the end of the test. Only one
// simulator exists per process: a second NewSimulator in a parallel test
// waits until the first test ends.
func NewSimulator(tb testing.TB, seed int64) *tpm.Device {
	tb.Helper()
	d, err := tpm.OpenSimulator(seed)
	if err != nil {
		tb.Fatalf("open tpm simulator: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
