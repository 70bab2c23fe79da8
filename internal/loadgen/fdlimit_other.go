//go:build !unix

package loadgen

// fdLimit is unknown here: nothing is checked against it.
func fdLimit() (int, bool) { return 0, false }
