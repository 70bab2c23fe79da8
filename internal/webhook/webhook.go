package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/bootproof/bootproof/internal/httpsurl"
	"github.com/bootproof/bootproof/internal/store"
)

// Target is one endpoint and its shared secret.
type Target struct {
	URL    string
	Secret string
}

// Outbox is what the dispatcher needs of the store.
type Outbox interface {
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.WebhookDelivery, error)
	CompleteDelivery(ctx context.Context, id int64, at time.Time) error
	FailDelivery(ctx context.Context, id int64, errMsg string, next time.Time) error
}

// Config wires a Dispatcher.
type Config struct {
	Outbox  Outbox
	Targets []Target
	Owner   string
	Client  *http.Client
	Log     *slog.Logger
	Now     func() time.Time
	// Poll is how often the outbox is checked (default 1 s).
	Poll time.Duration
	// OnResult, when set, counts outcomes ("delivered", "failed").
	OnResult func(outcome string)
}

// Dispatcher sends the outbox.
type Dispatcher struct{ cfg Config }

// New returns a Dispatcher; with no targets it still drains the outbox.
func New(cfg Config) *Dispatcher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: httpsurl.CheckRedirect}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	return &Dispatcher{cfg: cfg}
}

// Sign returns the signature header value of a body: "sha256=<hex HMAC>".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		d.drain(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (d *Dispatcher) drain(ctx context.Context) {
	for ctx.Err() == nil {
		now := d.cfg.Now()
		batch, err := d.cfg.Outbox.ClaimDeliveries(ctx, d.cfg.Owner, now, time.Minute, 50)
		if err != nil {
			d.cfg.Log.Warn("claim webhook deliveries", "err", err)
			return
		}
		if len(batch) == 0 {
			return
		}
		for _, del := range batch {
			d.deliver(ctx, del)
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, del store.WebhookDelivery) {
	var firstErr error
	for _, t := range d.cfg.Targets {
		if err := d.post(ctx, t, del); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	now := d.cfg.Now()
	if firstErr == nil {
		if err := d.cfg.Outbox.CompleteDelivery(ctx, del.ID, now); err != nil {
			d.cfg.Log.Warn("complete webhook delivery", "id", del.ID, "err", err)
		}
		d.count("delivered")
		return
	}
	d.count("failed")
	next := now.Add(backoff(del.Attempts))
	d.cfg.Log.Warn("webhook delivery failed; will retry", "id", del.ID, "attempt", del.Attempts, "next", next, "err", firstErr)
	if err := d.cfg.Outbox.FailDelivery(ctx, del.ID, firstErr.Error(), next); err != nil {
		d.cfg.Log.Warn("record webhook failure", "id", del.ID, "err", err)
	}
}

func (d *Dispatcher) count(outcome string) {
	if d.cfg.OnResult != nil {
		d.cfg.OnResult(outcome)
	}
}

// backoff is 1 s doubling to at most 10 min.
func backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	return min(time.Second<<min(attempts-1, 10), 10*time.Minute)
}

func (d *Dispatcher) post(ctx context.Context, t Target, del store.WebhookDelivery) error {
	req, err := http.NewRequestWithContext(ctx, "POST", t.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bootproof-Event", del.Event)
	req.Header.Set("X-Bootproof-Delivery", strconv.FormatInt(del.ID, 10))
	req.Header.Set("X-Bootproof-Signature", Sign(t.Secret, del.Payload))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", t.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to %s: status %d", t.URL, resp.StatusCode)
	}
	return nil
}
