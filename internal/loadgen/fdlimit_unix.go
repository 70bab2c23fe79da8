//go:build unix

package loadgen

import "syscall"

// fdLimit is the process's limit of open file descriptors (its soft limit,
// which Go raised to the hard one at start).
func fdLimit() (int, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return int(min(uint64(rl.Cur), 1<<30)), true
}
