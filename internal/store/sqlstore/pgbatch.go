package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/bootproof/bootproof/internal/store"
)

// Why PostgreSQL's hot writes are sent in batches.
//
// Through database/sql every statement is a round trip of its own: an
// attestation cost about 17 (PutNonce 4, RecordAttestation 9 to 17), and
// between them the session sat "idle in transaction", holding its row locks,
// while the verifier, on a crowded machine, got round to its next statement.
// Here the same statements are sent with pgx's pipelined batches on the raw
// connection: PutNonce in one round trip; RecordAttestation in two, one that
// takes the nonce and locks the host (batch 1) and, once Go has judged what
// it read, one that writes and commits (batch 2); a third when the blob set is
// new, to find which of its blobs are stored. The statement texts are those of
// the SQLite path, rebound to $n, and the errors are worded alike.
//
// A statement that fails inside a batch makes PostgreSQL skip the rest of it,
// COMMIT included, and leaves the transaction aborted; pgRollback ends it
// before the connection goes back to the pool, and pgRaw discards a
// connection that is closed or still in a transaction, so that no caller
// inherits one.
//
// The server holds the whole of batch 2, COMMIT included, before it answers.
// When the caller's context ends while a statement of it waits (for a lock),
// pgx closes the connection and sends a cancel request, which ends that
// statement and so skips the COMMIT (TestPostgresCancelledRecord); only if
// the wait ends before the request arrives is the record kept although the
// caller got an error, the window in which a COMMIT's lost answer leaves any
// caller.

// pgRollbackTimeout bounds the ROLLBACK after a failure, which must run even
// when the caller's context is done.
const pgRollbackTimeout = 10 * time.Second

// pgRaw runs fn on a raw pgx connection of the write pool and returns fn's
// error as it is. A connection that fn leaves closed or inside a transaction
// is discarded rather than pooled (database/sql drops a connection whose Raw
// callback returns driver.ErrBadConn).
func (s *Store) pgRaw(ctx context.Context, fn func(pc *pgx.Conn) error) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer c.Close()
	var fnErr error
	err = c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			fnErr = fmt.Errorf("begin transaction: driver connection is a %T, not pgx's", dc)
			return nil
		}
		pc := sc.Conn()
		fnErr = fn(pc)
		if pc.IsClosed() || pc.PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// pgRollback ends the transaction a failure left open, if any. It sends
// ROLLBACK as a simple query: it needs no prepared statement, and is taken
// in an aborted transaction. When it fails the connection stays in its
// transaction (or closed), and pgRaw discards it.
func pgRollback(ctx context.Context, pc *pgx.Conn) {
	if pc.IsClosed() || pc.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgRollbackTimeout)
	defer cancel()
	pc.PgConn().Exec(ctx, "ROLLBACK").ReadAll() // the outcome is judged by TxStatus in pgRaw
}

// pgExecBatch is a batch of statements that return no rows, each with the
// context its error is reported with; general is the context of an error
// that is not one statement's (see pgWrap).
type pgExecBatch struct {
	b       pgx.Batch
	errs    []string
	general string
}

// queue adds query (in '?' syntax) to the batch; errCtx, when not empty,
// prefixes its error.
func (e *pgExecBatch) queue(errCtx, query string, args ...any) {
	e.b.Queue(postgres.q(query), args...)
	e.errs = append(e.errs, errCtx)
}

// queueCommit ends the batch with COMMIT.
func (e *pgExecBatch) queueCommit() { e.queue("commit transaction", "COMMIT") }

// run sends the batch in one round trip and reads every result. It returns
// the first statement's error, which made PostgreSQL skip the rest; the
// caller rolls back.
func (e *pgExecBatch) run(ctx context.Context, pc *pgx.Conn) error {
	br := pc.SendBatch(ctx, &e.b)
	for i := range e.errs {
		tag, err := br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			// COMMIT of an aborted transaction answers ROLLBACK, not an
			// error; it cannot happen here (a failure skips the COMMIT),
			// but would be a lost write.
			err = pgx.ErrTxCommitRollback
		}
		if err != nil {
			br.Close()
			return e.wrap(i, err)
		}
	}
	if err := br.Close(); err != nil {
		return e.wrap(len(e.errs)-1, err)
	}
	return nil
}

func (e *pgExecBatch) wrap(i int, err error) error { return pgWrap(err, e.errs[i], e.general) }

// pgWrap wraps err, read as the answer to one statement of a batch, with
// that statement's context (none when empty) when the server refused that
// statement. Any other error (the context ended, the connection broke)
// surfaces at the first statement whose answer had not been read, which
// says nothing of where the server was (it sends no answer before the batch
// ends): it gets the batch's context instead.
func pgWrap(err error, stmtCtx, batchCtx string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) && !errors.Is(err, pgx.ErrTxCommitRollback) {
		stmtCtx = batchCtx
	}
	if stmtCtx == "" {
		return err
	}
	return fmt.Errorf("%s: %w", stmtCtx, err)
}

// putNoncePG is PutNonce's transaction in one round trip. Its errors are
// those of the SQLite path's transaction; PutNonce wraps them.
func (s *Store) putNoncePG(ctx context.Context, n store.Nonce) error {
	return s.pgRaw(ctx, func(pc *pgx.Conn) error {
		var e pgExecBatch
		e.queue("begin transaction", "BEGIN")
		// Unwrapped, as withTx returns the statements' errors.
		e.queue("", qPutNonce, n.Value, n.Host, micros(n.ExpiresAt))
		e.queueCommit()
		err := e.run(ctx, pc)
		if err != nil {
			pgRollback(ctx, pc)
		}
		return err
	})
}

// recordAttestationPG is RecordAttestation on PostgreSQL; set and blobs are
// what blobSetKey made of r.Blobs.
func (s *Store) recordAttestationPG(ctx context.Context, r store.AttestationRecord, set any,
	blobs []store.Blob) (changed bool, err error) {
	err = s.pgRaw(ctx, func(pc *pgx.Conn) error {
		var err error
		changed, err = pgRecord(ctx, pc, r, set, blobs)
		if err != nil {
			pgRollback(ctx, pc)
		}
		return err
	})
	return changed, err
}

// pgRecord runs the record's transaction: batch 1, the judgement of what it
// read, the blobs of a new set, batch 2. On an error the transaction is left
// for the caller to roll back.
func pgRecord(ctx context.Context, pc *pgx.Conn, r store.AttestationRecord, set any, blobs []store.Blob) (changed bool,
	err error) {
	old, setStored, err := pgRecordLock(ctx, pc, r, set)
	if err != nil {
		return false, err
	}
	changed = old != r.Status
	newSet := set != nil && !setStored
	var absent []store.Blob
	if newSet {
		if absent, err = pgAbsentBlobs(ctx, pc, blobs); err != nil {
			return changed, fmt.Errorf("record attestation of host %q: %w", r.Host, err)
		}
	}
	return changed, pgRecordWrite(ctx, pc, r, old, set, newSet, blobs, absent)
}

// pgRecordLock sends batch 1: BEGIN, the nonce taken and the expired ones
// swept, the host's row locked and its status and credential read, and
// (with blobs) the blobs table locked against PruneBlobs and the set looked
// up. Its results are judged in the SQLite path's order, so that a record
// wrong in several ways gets the same error; the statements after the one
// that decides are read by Close, and rolled back by the caller.
func pgRecordLock(ctx context.Context, pc *pgx.Conn, r store.AttestationRecord, set any) (old string, setStored bool,
	err error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if r.Nonce != nil {
		b.Queue(postgres.q(qTakeNonce), r.Nonce)
		b.Queue(postgres.q(qSweepNonces), micros(r.At))
	}
	b.Queue(postgres.q(qLockHost+postgres.forUpdate), r.Host)
	if set != nil {
		b.Queue(qLockBlobsShared)
		b.Queue(postgres.q(qBlobSetExists), set)
	}
	pre := fmt.Sprintf("record attestation of host %q", r.Host)
	br := pc.SendBatch(ctx, b)
	old, setStored, err = judgeRecordLock(br, pre, r, set)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", pre, cerr)
	}
	return old, setStored, err
}

// judgeRecordLock reads batch 1's results in order and stops at the first
// that refuses the record. pre is the context of its errors.
func judgeRecordLock(br pgx.BatchResults, pre string, r store.AttestationRecord, set any) (old string, setStored bool,
	err error) {
	if _, err := br.Exec(); err != nil {
		return "", false, pgWrap(err, "begin transaction", pre)
	}
	if r.Nonce != nil {
		if err := judgeNonce(br, pre, r.Host, r.At); err != nil {
			return "", false, err
		}
	}
	old, cred, err := scanLockedHost(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("record attestation: host %q: %w", r.Host, store.ErrNotFound)
	}
	if err != nil {
		return "", false, pgWrap(err, pre, pre)
	}
	if err := checkCredential(r, cred); err != nil {
		return "", false, err
	}
	if set == nil {
		return old, false, nil
	}
	if _, err := br.Exec(); err != nil {
		return "", false, pgWrap(err, pre+": lock blobs", pre)
	}
	var one int
	err = br.QueryRow().Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return old, false, nil
	}
	if err != nil {
		return "", false, pgWrap(err, pre+": look up blob set", pre)
	}
	return old, true, nil
}

// judgeNonce reads the nonce's DELETE ... RETURNING and the sweep, and
// judges the nonce as takeNonceFor does: absent or expired is ErrNotFound,
// another host's ErrConflict.
func judgeNonce(br pgx.BatchResults, pre, host string, now time.Time) error {
	var owner string
	var exp int64
	err := br.QueryRow().Scan(&owner, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: take nonce: %w", pre, store.ErrNotFound)
	}
	if err != nil {
		return pgWrap(err, pre+": take nonce", pre)
	}
	if _, err := br.Exec(); err != nil {
		return pgWrap(err, pre+": take nonce: sweep expired", pre)
	}
	if err := checkNonce(owner, host, fromMicros(exp), now); err != nil {
		return fmt.Errorf("%s: %w", pre, err)
	}
	return nil
}

// pgAbsentBlobs looks up a new set's blobs (sorted by hash) in one round
// trip and returns those not stored, their data checked against their hash
// as putBlob does: a wrong hash would serve wrong bytes to every record that
// names it. Stored blobs' data is not looked at, nor sent again.
func pgAbsentBlobs(ctx context.Context, pc *pgx.Conn, blobs []store.Blob) ([]store.Blob, error) {
	b := &pgx.Batch{}
	for _, bl := range blobs {
		b.Queue(postgres.q(qBlobExists), bl.SHA256)
	}
	br := pc.SendBatch(ctx, b)
	absent, err := judgeBlobs(br, blobs)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return absent, err
}

// judgeBlobs reads pgAbsentBlobs' results, one blob after the other as
// putBlob would, so that the first blob at fault names the error.
func judgeBlobs(br pgx.BatchResults, blobs []store.Blob) ([]store.Blob, error) {
	var absent []store.Blob
	for _, b := range blobs {
		var one int
		err := br.QueryRow().Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, pgWrap(err, "look up blob "+b.SHA256, "")
		}
		if sum := sha256.Sum256(b.Data); hex.EncodeToString(sum[:]) != b.SHA256 {
			return nil, fmt.Errorf("blob %s: its data hashes to %x", b.SHA256, sum)
		}
		absent = append(absent, b)
	}
	return absent, nil
}

// pgRecordWrite sends batch 2: the SQLite path's writes in its order, then
// COMMIT. old is the host's status before; when newSet, the set is stored
// with its blobs, absent being those not stored yet.
func pgRecordWrite(ctx context.Context, pc *pgx.Conn, r store.AttestationRecord, old string, set any, newSet bool,
	blobs, absent []store.Blob) error {
	at := micros(r.At)
	pre := fmt.Sprintf("record attestation of host %q", r.Host)
	e := pgExecBatch{general: pre}
	pre += ": "
	e.queue(pre+"update host", qRecordHost, recordHostArgs(r, at)...)
	if newSet {
		queueBlobSet(&e, pre, set, blobs, absent)
	}
	e.queue(pre+"latest evidence", qPutLatest, latestArgs(r, at, set)...)
	e.queue(pre+"summary", qInsertSummary, r.Host, at, r.Status, r.ReasonCode, r.DurationMicros)
	if old != r.Status {
		e.queue(pre+"status change", qInsertChange, changeArgs(r, old, at, set, blobBytes(absent))...)
		if d := r.Webhook; d != nil {
			e.queue(pre+fmt.Sprintf("queue webhook %q", d.Event), qInsertDelivery, d.Event, blob(d.Payload),
				at, micros(firstAttempt(d, r.At)))
		}
	}
	e.queueCommit()
	return e.run(ctx, pc)
}

// blobBytes is the bytes of blobs' data.
func blobBytes(blobs []store.Blob) int64 {
	var n int64
	for _, b := range blobs {
		n += int64(len(b.Data))
	}
	return n
}

// queueBlobSet queues what putBlobSet writes for a new set: the absent
// blobs in hash order (so that records storing overlapping sets wait for
// each other rather than deadlock), the set, and its members.
func queueBlobSet(e *pgExecBatch, pre string, set any, blobs, absent []store.Blob) {
	for _, b := range absent {
		e.queue(pre+"store blob "+b.SHA256, qInsertBlob, b.SHA256, blob(b.Data))
	}
	e.queue(pre+"store blob set", qInsertBlobSet, set)
	for _, b := range blobs {
		e.queue(pre+"store blob set member "+b.SHA256, qInsertBlobMember, set, b.SHA256)
	}
}
