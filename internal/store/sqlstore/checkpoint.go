package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Why SQLite checkpoints in the background.
//
// In WAL mode SQLite copies committed pages from the WAL back into the
// database file (a checkpoint, with an fsync of the file) once the WAL
// passes wal_autocheckpoint pages, and it does so in the connection whose
// commit crossed the line: here the single writer, inside an attestation's
// call. Every writer queued behind that commit waits for the copy, which
// showed as a latency tail in fleet-sized load runs. A checkpointer on a
// connection of its own runs PASSIVE checkpoints, which never block writers
// or readers, every checkpointEvery; the writer's automatic checkpoint stays
// as a backstop at writerAutoCheckpointPages, should the checkpointer fall
// behind.

const (
	checkpointEvery = 250 * time.Millisecond
	// writerAutoCheckpointPages is the writer's backstop: 8,000 pages of
	// 4 KiB, 32 MiB of WAL.
	writerAutoCheckpointPages = 8000
)

// checkpointer runs PASSIVE checkpoints until stopped.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// startCheckpointer opens its own connection to dsn (pragmas included) and
// starts checkpointing.
func startCheckpointer(ctx context.Context, dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel}
	c.done.Add(1)
	go c.run(runCtx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Errors are left to the next round and to the writer's backstop:
		// a failed checkpoint loses nothing, the pages stay in the WAL.
		_ = c.checkpoint(ctx)
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	if _, err := c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	return nil
}

// stop ends the checkpointer and closes its connection.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	c.cancel()
	c.done.Wait()
	return c.db.Close()
}
