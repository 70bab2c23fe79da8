//go:build !linux

package api

import (
	"errors"
	"runtime"
)

// hangupWatcher needs epoll; elsewhere a Parker is not made and waits are
// held in their handlers.
type hangupWatcher struct{}

func newHangupWatcher(*Parker) (*hangupWatcher, error) {
	return nil, errors.New("parking connections needs epoll, which " + runtime.GOOS + " has not")
}

func (*hangupWatcher) add(*parkedConn) error { return errors.New("no hangup watcher") }
func (*hangupWatcher) remove(*parkedConn)    {}
func (*hangupWatcher) run()                  {}
func (*hangupWatcher) wake()                 {}
func (*hangupWatcher) close()                {}
