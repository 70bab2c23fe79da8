package api

import (
	"errors"
	"fmt"
	"syscall"
)

// hangupWatcher is one epoll set of the parked connections' sockets, read
// by one goroutine: it reports an agent that hung up (or spoke) while
// parked, without a goroutine blocked in a read per connection. It is a set
// of its own beside the Go runtime's poller, which keeps its registration
// of the same sockets; reporting readiness consumes nothing. Each
// registration is one-shot and keyed by the parked wait's id, never by the
// descriptor number, which the kernel reuses.
type hangupWatcher struct {
	p    *Parker
	epfd int
	// wakeR and wakeW are a pipe whose read end is in the set (key 0): a
	// byte written makes run look at p.done.
	wakeR, wakeW int
}

const watchEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newHangupWatcher(p *Parker) (*hangupWatcher, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	w := &hangupWatcher{p: p, epfd: epfd, wakeR: pipe[0], wakeW: pipe[1]}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, w.wakeR, &ev); err != nil {
		w.close()
		return nil, fmt.Errorf("epoll_ctl add wake pipe: %w", err)
	}
	return w, nil
}

// add watches pc's socket. The caller holds p.mu.
func (w *hangupWatcher) add(pc *parkedConn) error {
	sc, ok := pc.conn.NetConn().(syscall.Conn)
	if !ok {
		return errors.New("connection has no socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: watchEvents, Fd: int32(pc.id)}
		if opErr = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); opErr == nil {
			pc.fd = int(fd)
		}
	})
	if err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("epoll_ctl add: %w", opErr)
	}
	return nil
}

// remove stops watching pc's socket, before anyone may close it. The caller
// holds p.mu.
func (w *hangupWatcher) remove(pc *parkedConn) {
	_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, pc.fd, nil)
	pc.fd = -1
}

// run reports events to the parker until the parker is closed.
func (w *hangupWatcher) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		select {
		case <-w.p.done:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			// Parked waits still end at their deadline; only hangups go
			// unnoticed until then.
			w.p.log.Error("epoll_wait on parked connections; hangups are no longer watched", "err", err)
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == 0 {
				continue // the wake pipe, written only by Close
			}
			hangup := ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0
			w.p.event(uint32(ev.Fd), hangup)
		}
	}
}

// wake makes run return once p.done is closed.
func (w *hangupWatcher) wake() { _, _ = syscall.Write(w.wakeW, []byte{1}) }

// close releases the set, after run returned.
func (w *hangupWatcher) close() {
	syscall.Close(w.wakeR)
	syscall.Close(w.wakeW)
	syscall.Close(w.epfd)
}
