package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupCommit: write transactions committed together stay each its
// own: one that fails or panics leaves nothing and gets its error, one
// whose caller gave up before it ran is not run, and the others are
// committed whatever their neighbours did.
func TestGroupCommit(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.group == nil {
		t.Fatal("SQLite store has no group committer")
	}
	errRefused := errors.New("refused by its function")
	const n = 300
	type outcome int
	const (
		commits outcome = iota
		fails
		panics
		cancelled
	)
	want := func(i int) outcome {
		switch {
		case i%7 == 3:
			return fails
		case i%31 == 5:
			return panics
		case i%11 == 6:
			return cancelled
		}
		return commits
	}
	cancelledCtx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			if want(i) == cancelled {
				ctx = cancelledCtx
			}
			errs[i] = s.withTx(ctx, func(c conn) error {
				if _, err := c.exec(ctx, qPutKVIfAbsent, fmt.Sprintf("k%d", i), []byte("v")); err != nil {
					return err
				}
				switch want(i) {
				case fails:
					return errRefused
				case panics:
					panic("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		_, getErr := s.GetKV(t.Context(), fmt.Sprintf("k%d", i))
		stored := getErr == nil
		switch want(i) {
		case commits:
			if errs[i] != nil || !stored {
				t.Errorf("job %d: err %v, stored %v; want committed", i, errs[i], stored)
			}
		case fails:
			if !errors.Is(errs[i], errRefused) || stored {
				t.Errorf("job %d: err %v, stored %v; want its own error and nothing stored", i, errs[i], stored)
			}
		case panics:
			if errs[i] == nil || stored {
				t.Errorf("job %d panicked: err %v, stored %v; want an error and nothing stored", i, errs[i], stored)
			}
		case cancelled:
			if !errors.Is(errs[i], context.Canceled) || stored {
				t.Errorf("job %d cancelled: err %v, stored %v; want context.Canceled and nothing stored", i, errs[i], stored)
			}
		}
	}
	// One at a time, each is a group of its own: the same rules.
	put := func(key string, after func() error) error {
		return s.withTx(t.Context(), func(c conn) error {
			if _, err := c.exec(t.Context(), qPutKVIfAbsent, key, []byte("v")); err != nil {
				return err
			}
			return after()
		})
	}
	if err := put("alone-fails", func() error { return errRefused }); !errors.Is(err, errRefused) {
		t.Errorf("a failing job alone: %v", err)
	}
	if err := put("alone-panics", func() error { panic("boom") }); err == nil {
		t.Error("a panicking job alone succeeded")
	}
	if err := put("alone-commits", func() error { return nil }); err != nil {
		t.Errorf("a job alone: %v", err)
	}
	for key, want := range map[string]bool{"alone-fails": false, "alone-panics": false, "alone-commits": true} {
		if _, err := s.GetKV(t.Context(), key); (err == nil) != want {
			t.Errorf("%s: stored %v, want %v", key, err == nil, want)
		}
	}
	s.Close()
	if err := s.withTx(context.Background(), func(conn) error { return nil }); err == nil {
		t.Error("a transaction after Close succeeded")
	}
}

// TestGroupCommitHandsTheLeadOn: a caller that finds the writer free
// commits what queues behind it, but once its own transaction is committed
// it leads only maxLeadGroups more groups before it returns and another
// waiting caller takes the lead: every transaction is still committed.
func TestGroupCommitHandsTheLeadOn(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := s.group
	release, firstReturned := make(chan struct{}), make(chan struct{})
	firstErr := make(chan error, 1)
	go func() {
		err := s.withTx(t.Context(), func(c conn) error {
			<-release // holds the writer while the others queue
			_, err := c.exec(t.Context(), qPutKVIfAbsent, "first", []byte("v"))
			return err
		})
		close(firstReturned)
		firstErr <- err
	}()
	waitQueued := func(n int) {
		t.Helper()
		for {
			g.mu.Lock()
			queued, leading := len(g.queue), g.leading
			g.mu.Unlock()
			if leading && queued == n {
				return
			}
			runtime.Gosched()
		}
	}
	waitQueued(0) // the first caller leads and runs its own transaction
	// The first caller may commit maxLeadGroups groups for the others; a
	// transaction beyond those runs only once it has returned (a caller
	// that kept the lead would wait here for itself, and time out).
	const others = 3*maxGroup + 5
	var ran atomic.Int64
	var kept atomic.Bool
	errs := make(chan error, others)
	for i := range others {
		go func() {
			errs <- s.withTx(t.Context(), func(c conn) error {
				if ran.Add(1) > maxLeadGroups*maxGroup && !kept.Load() {
					select {
					case <-firstReturned:
					case <-time.After(5 * time.Second):
						kept.Store(true)
						return errors.New("ran by the first caller: it kept the lead")
					}
				}
				_, err := c.exec(t.Context(), qPutKVIfAbsent, fmt.Sprintf("k%d", i), []byte("v"))
				return err
			})
		}()
	}
	waitQueued(others)
	close(release)
	if err := <-firstErr; err != nil {
		t.Fatalf("the first caller's transaction: %v", err)
	}
	for range others {
		if err := <-errs; err != nil {
			t.Errorf("a queued transaction: %v", err)
		}
	}
	for i := range others {
		if _, err := s.GetKV(t.Context(), fmt.Sprintf("k%d", i)); err != nil {
			t.Errorf("k%d not stored: %v", i, err)
		}
	}
}

// TestGroupCommitSurvivesALeaderPanic: a panic in the group commit itself
// (here: no database at all) reaches the leading caller, and the writer is
// not left waiting for a leader that is gone: the next caller leads.
func TestGroupCommitSurvivesALeaderPanic(t *testing.T) {
	g := newGroupCommitter(nil, func(*sql.Tx) conn { return conn{} })
	call := func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		_ = g.do(t.Context(), func(conn) error { return nil })
		return false
	}
	for i := range 2 {
		done := make(chan bool, 1)
		go func() { done <- call() }()
		select {
		case p := <-done:
			if !p {
				t.Fatalf("call %d with no database did not panic", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d hung: the lead was lost with the panicking leader", i)
		}
	}
}
