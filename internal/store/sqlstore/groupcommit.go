package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Why SQLite's write transactions are committed in groups.
//
// SQLite has one writer: every write transaction of the verifier (a nonce
// issued, an attestation recorded) queues for the single connection, and
// each pays its own BEGIN, COMMIT and WAL write of the pages it touched.
// In a 100,000-host load run at 333 attestations a second (666 write
// transactions) the record's store time averaged 54 ms, almost all of it
// waiting for the connection. A group committer runs the transactions
// queued at the moment in one SQLite transaction, each inside a savepoint
// of its own: a transaction whose function fails is rolled back to its
// savepoint and gets its error, the others are committed together, and each
// caller returns only once its work is committed (or gets the commit's
// error). The pages several of them touch (an index's last leaf, the nonces
// table) are written once per group, and the connection is handed over
// once per group instead of once per transaction.

// maxGroup bounds the transactions committed together, so that the first
// of a long queue does not wait for all of it.
const maxGroup = 64

// maxLeadGroups is how many groups a caller commits for others after its
// own transaction is committed, before it hands the lead to the caller of
// the oldest transaction waiting (see groupCommitter).
const maxLeadGroups = 2

// txJob is one caller's write transaction.
type txJob struct {
	ctx  context.Context
	fn   func(c conn) error
	done chan error // the outcome, or errYourLead
}

// errYourLead tells a waiting caller that the lead passed to it.
var errYourLead = errors.New("group commit: lead the writer")

// groupCommitter runs write transactions on the writer connection.
//
// There is no committer goroutine: the caller that finds the writer free
// leads it, committing the queued transactions (its own among them) group
// by group until the queue is empty; callers that arrive meanwhile queue
// and wait. On a crowded machine every hand-over between goroutines waits
// for the Go scheduler, and a dedicated committer would be handed each
// transaction and hand each outcome back; a leading caller is running
// already, so a transaction that finds the writer free is committed
// without a hand-over, and one that queues waits for one wake-up. A
// caller whose own transaction is committed leads at most maxLeadGroups
// more groups, then passes the lead to the oldest waiting caller, so that
// no caller's answer waits on an endless stream of others' work.
type groupCommitter struct {
	db *sql.DB
	mk func(tx *sql.Tx) conn

	mu      sync.Mutex
	queue   []*txJob
	leading bool // a caller is leading; it will take what is queued
	closed  bool
	idle    *sync.Cond // signalled when the lead ends with the queue empty
}

func newGroupCommitter(db *sql.DB, mk func(tx *sql.Tx) conn) *groupCommitter {
	g := &groupCommitter{db: db, mk: mk}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// errStoreClosed answers transactions sent after Close.
var errStoreClosed = errors.New("store is closed")

// do runs fn in a write transaction and returns once it is committed.
func (g *groupCommitter) do(ctx context.Context, fn func(c conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &txJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errStoreClosed
	}
	g.queue = append(g.queue, j)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		g.lead(j)
	}
	// Once queued, the job runs to its end (or is answered with its
	// context's error if that ended before it ran): its outcome must be
	// reported, so the caller waits for it.
	for {
		err := <-j.done
		if err != errYourLead {
			return err
		}
		g.lead(j)
	}
}

// lead commits the queue group by group until it is empty, or hands the
// lead on once mine is answered and maxLeadGroups more were committed.
func (g *groupCommitter) lead(mine *txJob) {
	answered, extra := false, 0
	var group []*txJob
	defer func() {
		if p := recover(); p != nil {
			g.abandon(group, p)
			panic(p)
		}
	}()
	for {
		g.mu.Lock()
		if len(g.queue) == 0 || answered && extra >= maxLeadGroups {
			g.passLeadLocked()
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), maxGroup)
		group = g.queue[:n:n]
		g.queue = append([]*txJob(nil), g.queue[n:]...)
		g.mu.Unlock()
		if answered {
			extra++
		}
		for _, j := range group {
			if j == mine {
				answered = true
			}
		}
		g.commit(group)
	}
}

// commit runs a group in one transaction and answers every job.
func (g *groupCommitter) commit(group []*txJob) {
	// Not a caller's context: cancelling one caller must not roll back the
	// others' work.
	ctx := context.Background()
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range group {
			j.done <- fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	if len(group) == 1 {
		// Alone: no savepoint needed, the transaction is the job's.
		g.commitOne(tx, group[0])
		return
	}
	var ok []*txJob
	var broken error
	for _, j := range group {
		if broken != nil {
			// SQLite ended the transaction on an error (it does on I/O
			// errors and the like): what follows would run outside it.
			j.done <- fmt.Errorf("write transaction not run: %w", broken)
			continue
		}
		if err := j.ctx.Err(); err != nil {
			j.done <- err
			continue
		}
		err, lost := g.runJob(tx, j)
		if lost != nil {
			broken = lost
		}
		if err != nil {
			j.done <- err
			continue
		}
		ok = append(ok, j)
	}
	if broken != nil {
		tx.Rollback()
		for _, j := range ok {
			j.done <- fmt.Errorf("write transaction rolled back: %w", broken)
		}
		return
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("commit transaction: %w", err)
	}
	for _, j := range ok {
		j.done <- err
	}
}

// commitOne runs a job alone in tx and answers it.
func (g *groupCommitter) commitOne(tx *sql.Tx, j *txJob) {
	if err := j.ctx.Err(); err != nil {
		tx.Rollback()
		j.done <- err
		return
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("write transaction panicked: %v", p)
			}
		}()
		return j.fn(g.mk(tx))
	}()
	if err != nil {
		tx.Rollback()
		j.done <- err
		return
	}
	if err := tx.Commit(); err != nil {
		j.done <- fmt.Errorf("commit transaction: %w", err)
		return
	}
	j.done <- nil
}

// runJob runs one job inside a savepoint, rolled back if the job fails. lost
// is set when the savepoint could not be rolled back or released: the
// transaction is no longer what the group's jobs wrote.
func (g *groupCommitter) runJob(tx *sql.Tx, j *txJob) (err, lost error) {
	ctx := context.WithoutCancel(j.ctx)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
		return fmt.Errorf("begin transaction: %w", err), err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write transaction panicked: %v", p)
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO job"); rerr != nil {
				lost = rerr
				return
			}
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE job"); rerr != nil {
			lost = rerr
			if err == nil {
				err = fmt.Errorf("release savepoint: %w", rerr)
			}
		}
	}()
	return j.fn(g.mk(tx)), nil
}

// abandon is lead's way out of a panic outside the jobs' functions (those
// are recovered in commit): the group's unanswered callers get an error and
// the lead passes on, so that one panic, which net/http may recover in the
// leading caller, does not leave every later write waiting for a leader.
func (g *groupCommitter) abandon(group []*txJob, p any) {
	for _, j := range group {
		select {
		case j.done <- fmt.Errorf("write transaction: the group commit panicked: %v", p):
		default: // answered already
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.passLeadLocked()
}

// passLeadLocked ends this caller's lead: it passes to the oldest waiting
// caller or, with none waiting, the writer is free. g.mu is held. The send
// cannot block: a queued job's channel is empty until it is answered or
// leads.
func (g *groupCommitter) passLeadLocked() {
	if len(g.queue) == 0 {
		g.leading = false
		g.idle.Broadcast()
		return
	}
	g.queue[0].done <- errYourLead
}

// close refuses new transactions and returns once the queued ones are
// answered.
func (g *groupCommitter) close() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
}
