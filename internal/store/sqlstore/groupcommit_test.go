package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
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
