package webhook_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/emurun"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/webhook"
	"github.com/bootproof/bootproof/internal/wire"
)

// receiver is a webhook endpoint that checks signatures and can be down.
type receiver struct {
	secret string
	mu     sync.Mutex
	down   bool
	// attempts counts requests per delivery ID, accepted or not.
	attempts map[string]int
	// accepted holds the events acknowledged with 2xx, in order.
	accepted []verifier.StatusEvent
	ids      []string
	badSigs  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get("X-Bootproof-Delivery")
	rc.attempts[id]++
	if rc.down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if !hmac.Equal([]byte(r.Header.Get("X-Bootproof-Signature")), []byte(webhook.Sign(rc.secret, body))) {
		rc.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev verifier.StatusEvent
	if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get("X-Bootproof-Event") != ev.Event {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	rc.accepted = append(rc.accepted, ev)
	rc.ids = append(rc.ids, id)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setDown(d bool) { rc.mu.Lock(); rc.down = d; rc.mu.Unlock() }

func (rc *receiver) snapshot() ([]verifier.StatusEvent, []string, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	att := map[string]int{}
	for k, v := range rc.attempts {
		att[k] = v
	}
	return append([]verifier.StatusEvent(nil), rc.accepted...), append([]string(nil), rc.ids...), att
}

// TestOneDeliveryPerStatusChange boots an emulated host four times against
// an in-process verifier: good, good again (no change), with Secure Boot
// off, and good. The receiver is down for the first status change; it must
// get that change by retry, and every change exactly once, signed.
func TestOneDeliveryPerStatusChange(t *testing.T) {
	if testing.Short() {
		t.Skip("webhook: boots emulated hosts; skipped with -short")
	}
	rc := &receiver{secret: "s3cret", down: true, attempts: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	env := servertest.StartWith(t, servertest.Options{Webhooks: []webhook.Target{{URL: hook.URL + "/bootproof", Secret: rc.secret}}})
	trustEmulatedVendors(t, env, "lab")

	var jt struct{ Token string }
	call(t, env, "POST", "/api/v1/join-tokens", `{"group":"lab","host":"esx-07"}`, &jt)
	state := filepath.Join(t.TempDir(), "esx-07")
	off := false
	boots := []struct {
		name       string
		secureBoot *bool
		want       string
	}{
		{"first boot", nil, "Passed"},
		{"same boot again", nil, "Passed"},
		{"Secure Boot turned off", &off, "Failed"},
		{"Secure Boot back on", nil, "Passed"},
	}
	for i, b := range boots {
		var got string
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := emurun.Run(ctx, emurun.Config{Name: "esx-07", Profile: emuhost.Good, SecureBoot: b.secureBoot,
			MakerCADir: env.MakerCADir, VerifierURL: env.URL, CAPEM: env.CAPEM, StateDir: state, JoinToken: jt.Token, Once: true,
			OnResult: func(r wire.EvidenceResult) { got = r.Status }})
		cancel()
		if err != nil || got != b.want {
			t.Fatalf("%s: status %q, %v; want %s", b.name, got, err, b.want)
		}
		if i == 0 {
			// Let the dispatcher fail at least once while the receiver is down.
			waitFor(t, 10*time.Second, "a refused delivery attempt", func() bool {
				_, _, att := rc.snapshot()
				return len(att) > 0
			})
			rc.setDown(false)
		}
	}
	want := []struct{ from, to string }{{"Pending", "Passed"}, {"Passed", "Failed"}, {"Failed", "Passed"}}
	waitFor(t, 20*time.Second, "three deliveries", func() bool {
		ev, _, _ := rc.snapshot()
		return len(ev) >= len(want)
	})
	// Give a duplicate the time to show up, were there one.
	time.Sleep(500 * time.Millisecond)
	events, ids, attempts := rc.snapshot()
	if len(events) != len(want) {
		t.Fatalf("receiver accepted %d deliveries, want %d: %+v", len(events), len(want), events)
	}
	// A retried delivery does not hold the later ones back: receivers order
	// changes by their time, as this one does.
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return events[order[a]].At.Before(events[order[b]].At) })
	sortedEvents, sortedIDs := make([]verifier.StatusEvent, len(events)), make([]string, len(ids))
	for i, j := range order {
		sortedEvents[i], sortedIDs[i] = events[j], ids[j]
	}
	events, ids = sortedEvents, sortedIDs
	seen := map[string]bool{}
	for i, ev := range events {
		if ev.Event != "host.status_changed" || ev.Host != "esx-07" || ev.Group != "lab" || ev.From != want[i].from || ev.To != want[i].to {
			t.Errorf("delivery %d = %+v, want %s -> %s", i, ev, want[i].from, want[i].to)
		}
		if seen[ids[i]] {
			t.Errorf("delivery %s accepted twice", ids[i])
		}
		seen[ids[i]] = true
	}
	if events[1].ReasonCode != "secureboot.disabled" {
		t.Errorf("the Failed change names %q, want secureboot.disabled", events[1].ReasonCode)
	}
	if attempts[ids[0]] < 2 {
		t.Errorf("the first delivery took %d attempts; it should have been refused, then retried", attempts[ids[0]])
	}
	if rc.badSigs != 0 {
		t.Errorf("%d deliveries had a bad signature", rc.badSigs)
	}
}

func trustEmulatedVendors(t *testing.T, env *servertest.Env, group string) {
	t.Helper()
	v, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	for _, c := range v.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if err := env.Server.Verifier.PutPolicy(context.Background(), "test", group, p); err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, env *servertest.Env, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
