package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

// attest records an attestation of host at t0+d with the given status.
func attest(t *testing.T, s store.Store, host string, d time.Duration, status, code string) bool {
	t.Helper()
	changed, err := s.RecordAttestation(ctx(t), store.AttestationRecord{
		Host: host, At: at(d), Status: status, ReasonCode: code, Reason: "reason " + code,
		Evidence: []byte(fmt.Sprintf(`{"n":%d}`, d)), Verdict: []byte(`{"status":"` + status + `"}`),
		DurationMicros: 1500, Credential: cred(host),
		Webhook: &store.WebhookDelivery{Event: "host.status_changed", Payload: []byte(host + ":" + status)},
	})
	if err != nil {
		t.Fatalf("RecordAttestation(%s, %s): %v", host, status, err)
	}
	return changed
}

func testRecordAttestation(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	steps := []struct {
		d           time.Duration
		status      string
		code        string
		clock       *store.ClockInfo
		wantChanged bool
	}{
		{time.Minute, store.StatusPassed, "", &store.ClockInfo{Clock: 100, ResetCount: 1, RestartCount: 2}, true},
		{2 * time.Minute, store.StatusPassed, "", &store.ClockInfo{Clock: 200, ResetCount: 1, RestartCount: 2}, false},
		{3 * time.Minute, store.StatusFailed, "pcr.replay_mismatch", nil, true},
		{4 * time.Minute, store.StatusFailed, "secureboot.off", nil, false},
	}
	for _, st := range steps {
		changed, err := s.RecordAttestation(ctx(t), store.AttestationRecord{
			Host: "h1", At: at(st.d), Status: st.status, ReasonCode: st.code, Reason: "reason " + st.code,
			Clock: st.clock, Evidence: []byte(fmt.Sprintf(`{"at":%d}`, st.d)), Verdict: []byte(st.status),
			DurationMicros: int64(st.d / time.Microsecond), Credential: cred("h1"),
			Webhook: &store.WebhookDelivery{Event: "host.status_changed", Payload: []byte(st.status)},
		})
		if err != nil {
			t.Fatalf("RecordAttestation(%s at +%s): %v", st.status, st.d, err)
		}
		if changed != st.wantChanged {
			t.Errorf("RecordAttestation(%s at +%s) changed = %v, want %v", st.status, st.d, changed, st.wantChanged)
		}
	}
	want := newHost("h1", "prod")
	want.Status, want.StatusSince = store.StatusFailed, at(3*time.Minute) // since the change, not the last attestation
	want.LastAttested, want.LastSeen = ptr(at(4*time.Minute)), ptr(at(4*time.Minute))
	want.ReasonCode, want.Reason = "secureboot.off", "reason secureboot.off"
	want.LastClock = store.ClockInfo{Clock: 200, ResetCount: 1, RestartCount: 2} // nil Clock leaves it alone
	if d := diff(want, mustGetHost(t, s, "h1")); d != "" {
		t.Errorf("host after four attestations (-want +got):\n%s", d)
	}

	ev, err := s.LatestEvidence(ctx(t), "h1")
	if err != nil {
		t.Fatalf("LatestEvidence: %v", err)
	}
	wantEv := store.LatestEvidence{Host: "h1", At: at(4 * time.Minute),
		Evidence: []byte(fmt.Sprintf(`{"at":%d}`, 4*time.Minute)), Verdict: []byte(store.StatusFailed),
		Status: store.StatusFailed}
	if d := diff(wantEv, ev); d != "" {
		t.Errorf("LatestEvidence (-want +got):\n%s", d)
	}

	// History grows with changes only, newest first, with the evidence that
	// caused each, charged its evidence and verdict (no blobs here).
	hist, err := s.History(ctx(t), "h1", 0, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	for i := range hist {
		hist[i].ID = 0
	}
	wantHist := []store.StatusChange{
		{Host: "h1", From: store.StatusPassed, To: store.StatusFailed, At: at(3 * time.Minute),
			ReasonCode: "pcr.replay_mismatch", Reason: "reason pcr.replay_mismatch",
			Verdict: []byte(store.StatusFailed), Evidence: []byte(fmt.Sprintf(`{"at":%d}`, 3*time.Minute)),
			EvidenceBytes: 19 + 6},
		{Host: "h1", From: store.StatusPending, To: store.StatusPassed, At: at(time.Minute),
			Reason: "reason ", Verdict: []byte(store.StatusPassed), Evidence: []byte(fmt.Sprintf(`{"at":%d}`, time.Minute)),
			EvidenceBytes: 18 + 6},
	}
	if d := diff(wantHist, hist); d != "" {
		t.Errorf("History (-want +got):\n%s", d)
	}

	sums, err := s.Summaries(ctx(t), "h1", time.Time{}, 0)
	if err != nil {
		t.Fatalf("Summaries: %v", err)
	}
	if len(sums) != 4 {
		t.Fatalf("Summaries = %d rows, want one per attestation (4)", len(sums))
	}
	d4 := int64(4 * time.Minute / time.Microsecond)
	wantFirst := store.AttestationSummary{Host: "h1", At: at(4 * time.Minute), Status: store.StatusFailed,
		ReasonCode: "secureboot.off", DurationMicros: d4, Count: 1, MinDurationMicros: d4, MaxDurationMicros: d4,
		LastAt: at(4 * time.Minute)}
	if d := diff(wantFirst, sums[0]); d != "" {
		t.Errorf("newest summary (-want +got):\n%s", d)
	}

	// One webhook per change, in the order of the changes.
	ds, err := s.ClaimDeliveries(ctx(t), "w", at(time.Hour), time.Minute, 0)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	var payloads []string
	for _, d := range ds {
		payloads = append(payloads, d.Event+" "+string(d.Payload))
	}
	if d := diff([]string{"host.status_changed Passed", "host.status_changed Failed"}, payloads); d != "" {
		t.Errorf("webhook deliveries (-want +got):\n%s", d)
	}
}

func testRecordAttestationErrors(t *testing.T, s store.Store) {
	_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "absent", At: t0, Status: store.StatusPassed})
	wantErr(t, "RecordAttestation(absent host)", err, store.ErrNotFound)
	mustCreateHost(t, s, newHost("h1", "prod"))
	if _, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "h1", At: t0, Status: "Fine",
		Credential: cred("h1")}); err == nil {
		t.Errorf("RecordAttestation(status Fine) succeeded")
	}
	// Nothing of a refused record is kept.
	if _, err := s.LatestEvidence(ctx(t), "h1"); err == nil {
		t.Errorf("LatestEvidence after a refused record: found one")
	}
	// A change without a webhook queues none.
	if _, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "h1", At: t0, Status: store.StatusNA,
		Credential: cred("h1")}); err != nil {
		t.Fatalf("RecordAttestation: %v", err)
	}
	if ds, err := s.ClaimDeliveries(ctx(t), "w", at(time.Hour), time.Minute, 0); err != nil || len(ds) != 0 {
		t.Errorf("ClaimDeliveries after a change with no webhook = %d, %v; want none", len(ds), err)
	}
}

func testHistoryPaging(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	statuses := []string{store.StatusPassed, store.StatusFailed}
	for i := range 5 {
		attest(t, s, "h1", time.Duration(i+1)*time.Minute, statuses[i%2], "")
	}
	tests := []struct {
		limit, offset int
		want          []time.Time
	}{
		{0, 0, []time.Time{at(5 * time.Minute), at(4 * time.Minute), at(3 * time.Minute), at(2 * time.Minute), at(time.Minute)}},
		{2, 0, []time.Time{at(5 * time.Minute), at(4 * time.Minute)}},
		{2, 2, []time.Time{at(3 * time.Minute), at(2 * time.Minute)}},
		{2, 4, []time.Time{at(time.Minute)}},
		{2, 10, nil},
	}
	for _, tt := range tests {
		hist, err := s.History(ctx(t), "h1", tt.limit, tt.offset)
		if err != nil {
			t.Fatalf("History(%d, %d): %v", tt.limit, tt.offset, err)
		}
		var got []time.Time
		for _, c := range hist {
			got = append(got, c.At)
		}
		if d := diff(tt.want, got); d != "" {
			t.Errorf("History(limit %d, offset %d) times (-want +got):\n%s", tt.limit, tt.offset, d)
		}
	}
}

func testSummariesAndPrune(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	for i := range 6 {
		attest(t, s, "h1", time.Duration(i)*time.Hour, store.StatusPassed, "")
	}
	attest(t, s, "h2", 0, store.StatusPassed, "")
	sums, err := s.Summaries(ctx(t), "h1", at(3*time.Hour), 2)
	if err != nil {
		t.Fatalf("Summaries: %v", err)
	}
	if len(sums) != 2 || !sums[0].At.Equal(at(5*time.Hour)) || !sums[1].At.Equal(at(4*time.Hour)) {
		t.Errorf("Summaries(since +3h, limit 2) = %+v, want +5h and +4h", sums)
	}
	n, err := s.PruneSummaries(ctx(t), at(2*time.Hour))
	if err != nil {
		t.Fatalf("PruneSummaries: %v", err)
	}
	if n != 3 { // h1 at +0h, +1h and h2 at +0h
		t.Errorf("PruneSummaries(+2h) removed %d, want 3", n)
	}
	left, err := s.Summaries(ctx(t), "h1", time.Time{}, 0)
	if err != nil {
		t.Fatalf("Summaries: %v", err)
	}
	if len(left) != 4 || !left[len(left)-1].At.Equal(at(2*time.Hour)) {
		t.Errorf("after prune h1 has %d summaries (oldest %v), want 4 from +2h", len(left), left)
	}
	// Pruning summaries keeps the history.
	if hist, err := s.History(ctx(t), "h1", 0, 0); err != nil || len(hist) != 1 {
		t.Errorf("History after prune = %d changes, %v; want 1", len(hist), err)
	}
}

func testMarkUnreachable(t *testing.T, s store.Store) {
	// The sweep runs at +10h. Group "prod" tolerates 1h of silence, the
	// default 3h, group "lax" 24h.
	now := at(10 * time.Hour)
	cutoffs := map[string]time.Time{"prod": at(9 * time.Hour), "lax": at(-14 * time.Hour)}
	def := at(7 * time.Hour)
	hosts := []struct {
		name, group, status string
		seen, attested      time.Duration // -1: never
		enrolled            time.Duration
		wantUnreachable     bool
	}{
		{"prod-silent", "prod", store.StatusPassed, 8 * time.Hour, 8 * time.Hour, 0, true},
		{"prod-seen", "prod", store.StatusPassed, 9*time.Hour + time.Minute, 8 * time.Hour, 0, false},
		{"prod-attested", "prod", store.StatusFailed, 2 * time.Hour, 9*time.Hour + time.Minute, 0, false},
		{"prod-at-cutoff", "prod", store.StatusPassed, 9 * time.Hour, -1, 0, false},
		{"other-silent", "other", store.StatusFailed, 6 * time.Hour, -1, 0, true},
		{"other-fresh", "other", store.StatusPassed, 8 * time.Hour, -1, 0, false},
		{"lax-silent", "lax", store.StatusPassed, 1 * time.Hour, 1 * time.Hour, 0, false},
		{"never-old", "other", store.StatusPending, -1, -1, 0, true},
		{"never-new", "other", store.StatusPending, -1, -1, 9 * time.Hour, false},
		{"already", "prod", store.StatusUnreachable, 1 * time.Hour, 1 * time.Hour, 0, false},
		{"na-silent", "other", store.StatusNA, 2 * time.Hour, -1, 0, true},
	}
	var want []string
	for _, h := range hosts {
		host := newHost(h.name, h.group)
		host.Status, host.EnrolledAt = h.status, at(h.enrolled)
		if h.seen >= 0 {
			host.LastSeen = ptr(at(h.seen))
		}
		if h.attested >= 0 {
			host.LastAttested = ptr(at(h.attested))
		}
		mustCreateHost(t, s, host)
		if h.wantUnreachable {
			want = append(want, h.name)
		}
	}
	slices.Sort(want) // MarkUnreachable returns names in order
	payload := func(h store.Host) []byte { return []byte(h.Name + " " + h.Status) }
	got, err := s.MarkUnreachable(ctx(t), cutoffs, def, now, payload)
	if err != nil {
		t.Fatalf("MarkUnreachable: %v", err)
	}
	if d := diff(want, got); d != "" {
		t.Fatalf("MarkUnreachable marked (-want +got):\n%s", d)
	}
	for _, h := range hosts {
		host := mustGetHost(t, s, h.name)
		hist, err := s.History(ctx(t), h.name, 0, 0)
		if err != nil {
			t.Fatalf("History(%s): %v", h.name, err)
		}
		switch {
		case h.wantUnreachable:
			if host.Status != store.StatusUnreachable || !host.StatusSince.Equal(now) || host.ReasonCode != store.ReasonUnreachable {
				t.Errorf("%s: status %s since %s code %q, want Unreachable since %s code %q",
					h.name, host.Status, host.StatusSince, host.ReasonCode, now, store.ReasonUnreachable)
			}
			if len(hist) != 1 || hist[0].From != h.status || hist[0].To != store.StatusUnreachable {
				t.Errorf("%s: history %+v, want one change %s -> Unreachable", h.name, hist, h.status)
			}
		default:
			if host.Status != h.status || len(hist) != 0 {
				t.Errorf("%s: status %s with %d changes, want %s untouched", h.name, host.Status, len(hist), h.status)
			}
		}
	}
	ds, err := s.ClaimDeliveries(ctx(t), "w", now, time.Minute, 0)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	var payloads []string
	for _, d := range ds {
		payloads = append(payloads, string(d.Payload))
	}
	// The payload is made from the host as it was before the move.
	wantPayloads := []string{"na-silent N/A", "never-old Pending", "other-silent Failed", "prod-silent Passed"}
	if d := diff(wantPayloads, payloads); d != "" {
		t.Errorf("webhook payloads (-want +got):\n%s", d)
	}
	// A second sweep finds nothing new.
	again, err := s.MarkUnreachable(ctx(t), cutoffs, def, at(11*time.Hour), nil)
	if err != nil || len(again) != 0 {
		t.Errorf("second MarkUnreachable = %v, %v; want none", again, err)
	}
	// A host that attests again leaves Unreachable through RecordAttestation.
	if !attest(t, s, "prod-silent", 12*time.Hour, store.StatusPassed, "") {
		t.Errorf("attesting an Unreachable host as Passed reported no change")
	}
}

// testRecordAttestationConcurrent: replicas recording the same change of
// one host at once write one status change and one webhook, not one each.
func testRecordAttestationConcurrent(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	changed := make([]bool, 20)
	errs := race(20, func(i int) error {
		var err error
		changed[i], err = s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "h1", At: at(time.Duration(i+1) * time.Second),
			Status: store.StatusFailed, ReasonCode: "pcr.replay_mismatch", Credential: cred("h1"),
			Webhook: &store.WebhookDelivery{Event: store.EventStatusChanged, Payload: []byte("x")}})
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range changed {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Errorf("20 concurrent Pending -> Failed records: %d reported a change, want 1", n)
	}
	if hist, err := s.History(ctx(t), "h1", 0, 0); err != nil || len(hist) != 1 {
		t.Errorf("History = %d changes, %v; want 1", len(hist), err)
	}
	if sums, err := s.Summaries(ctx(t), "h1", time.Time{}, 0); err != nil || len(sums) != 20 {
		t.Errorf("Summaries = %d, %v; want 20", len(sums), err)
	}
	if ds, err := s.ClaimDeliveries(ctx(t), "w", at(time.Hour), time.Minute, 0); err != nil || len(ds) != 1 {
		t.Errorf("ClaimDeliveries = %d deliveries, %v; want 1", len(ds), err)
	}
}

// testRecordAttestationNonce: the nonce an attestation answers is used up in
// the same transaction as its verdict is recorded, and a refused nonce
// records nothing.
func testRecordAttestationNonce(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("n1", "prod"))
	mustCreateHost(t, s, newHost("n2", "prod"))
	put := func(v string, host string, exp time.Duration) []byte {
		if err := s.PutNonce(ctx(t), store.Nonce{Value: []byte(v), Host: host, ExpiresAt: at(exp)}); err != nil {
			t.Fatalf("PutNonce: %v", err)
		}
		return []byte(v)
	}
	rec := func(host string, nonce []byte, when time.Duration) error {
		_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: host, At: at(when), Status: store.StatusPassed,
			Evidence: []byte("{}"), Verdict: []byte("{}"), Nonce: nonce, Credential: cred(host)})
		return err
	}
	summaries := func(host string) int {
		got, err := s.Summaries(ctx(t), host, at(-time.Hour), 100)
		if err != nil {
			t.Fatalf("Summaries: %v", err)
		}
		return len(got)
	}
	good := put("nonce-good", "n1", time.Minute)
	if err := rec("n1", good, time.Second); err != nil {
		t.Fatalf("RecordAttestation with its nonce: %v", err)
	}
	if err := rec("n1", good, 2*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the same nonce again: err %v, want ErrNotFound", err)
	}
	if err := rec("n1", []byte("never-issued"), 3*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a nonce never issued: err %v, want ErrNotFound", err)
	}
	other := put("nonce-of-n2", "n2", time.Minute)
	if err := rec("n1", other, 4*time.Second); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another host's nonce: err %v, want ErrConflict", err)
	}
	if err := rec("n2", other, 5*time.Second); err != nil {
		t.Errorf("the other host's nonce, refused to n1, must still work for n2: %v", err)
	}
	stale := put("nonce-stale", "n1", 10*time.Second)
	if err := rec("n1", stale, 11*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired nonce: err %v, want ErrNotFound", err)
	}
	if got := summaries("n1"); got != 1 {
		t.Errorf("n1 has %d attestations recorded, want only the one with a good nonce", got)
	}
}

// testRecordAttestationCredential: a verdict judged with the credential a
// host had before it enrolled again, re-activated (a new AK under the same
// client certificate) or had an EK change approved is refused with
// ErrCredentialChanged, and nothing of it is written: not the status, the
// latest evidence, a summary, a status change or a webhook, nor is its
// nonce used up.
func testRecordAttestationCredential(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		change func(h *store.Host)
	}{
		{"enrolled again", func(h *store.Host) {
			h.ClientCertSHA256, h.AKPublic = "client-"+h.Name+"-again", []byte("ak-"+h.Name+"-again")
		}},
		{"re-activated", func(h *store.Host) { h.AKPublic = []byte("ak-" + h.Name + "-reactivated") }},
		{"EK change approved", func(h *store.Host) { h.ClientCertSHA256, h.AKPublic = "", nil }},
	}
	for i, tt := range tests {
		name := fmt.Sprintf("c%d", i)
		mustCreateHost(t, s, newHost(name, "prod"))
		attest(t, s, name, time.Second, store.StatusPassed, "")
		stale := cred(name)
		if _, err := s.UpdateHost(ctx(t), name, func(h *store.Host) error { tt.change(h); return nil }); err != nil {
			t.Fatalf("%s: UpdateHost: %v", tt.name, err)
		}
		before := recordedOf(t, s, name)
		claimAll(t, s)
		nonce := []byte("nonce-" + name)
		if err := s.PutNonce(ctx(t), store.Nonce{Value: nonce, Host: name, ExpiresAt: at(time.Hour)}); err != nil {
			t.Fatalf("PutNonce: %v", err)
		}
		r := store.AttestationRecord{Host: name, At: at(time.Minute), Status: store.StatusFailed,
			ReasonCode: "pcr.replay_mismatch", Evidence: []byte(`{"stale":true}`), Verdict: []byte(`{}`),
			DurationMicros: 10, Nonce: nonce, Credential: stale,
			Clock:   &store.ClockInfo{Clock: 99, ResetCount: 1},
			Blobs:   []store.Blob{mkBlob("log of " + name)},
			Webhook: &store.WebhookDelivery{Event: store.EventStatusChanged, Payload: []byte(name)}}
		_, err := s.RecordAttestation(ctx(t), r)
		wantErr(t, tt.name+": RecordAttestation with the old credential", err, store.ErrCredentialChanged)
		if d := diff(before, recordedOf(t, s, name)); d != "" {
			t.Errorf("%s: a refused record changed what is recorded (-before +after):\n%s", tt.name, d)
		}
		if n := claimAll(t, s); n != 0 {
			t.Errorf("%s: a refused record queued %d webhook deliveries", tt.name, n)
		}
		if got, err := s.GetBlobs(ctx(t), []string{r.Blobs[0].SHA256}); err != nil || len(got) != 0 {
			t.Errorf("%s: a refused record stored its blob (%d found, %v)", tt.name, len(got), err)
		}
		// The nonce was left alone, and the host's current credential is
		// recorded as before.
		r.Credential = mustGetHost(t, s, name).Credential()
		if _, err := s.RecordAttestation(ctx(t), r); err != nil {
			t.Errorf("%s: RecordAttestation with the current credential and the same nonce: %v", tt.name, err)
		}
	}
}

// recorded is what RecordAttestation writes of one host.
type recorded struct {
	Host      store.Host
	Latest    store.LatestEvidence
	History   []store.StatusChange
	Summaries []store.AttestationSummary
}

func recordedOf(t *testing.T, s store.Store, host string) recorded {
	t.Helper()
	r := recorded{Host: mustGetHost(t, s, host)}
	var err error
	if r.Latest, err = s.LatestEvidence(ctx(t), host); err != nil {
		t.Fatalf("LatestEvidence(%s): %v", host, err)
	}
	if r.History, err = s.History(ctx(t), host, 0, 0); err != nil {
		t.Fatalf("History(%s): %v", host, err)
	}
	if r.Summaries, err = s.Summaries(ctx(t), host, time.Time{}, 0); err != nil {
		t.Fatalf("Summaries(%s): %v", host, err)
	}
	return r
}

// claimAll leases every delivery due at t0+1h, for an hour, and returns
// how many it leased: after a first call, a second one counts only the
// deliveries queued in between.
func claimAll(t *testing.T, s store.Store) int {
	t.Helper()
	ds, err := s.ClaimDeliveries(ctx(t), "storetest", at(time.Hour), time.Hour, 0)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return len(ds)
}
