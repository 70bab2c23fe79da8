package verifier_test

// BenchmarkStorageWeek measures what the store keeps for a fleet and
// extrapolates it to 10,000 hosts attesting every minute for a week:
//
//	go test ./internal/verifier -run XXX -bench StorageWeek -benchtime 1x
//
// It takes the evidence and verdicts the verifier really stores for the
// emulated chain (one Passed and one Failed host of the bench fleet, through
// Submit), then records them for storageHosts hosts every simulated minute
// into a fresh SQLite store, running the sweeper's upkeep (roll-up, retention,
// blob prune) every ten simulated minutes as the verifier does. Every host
// gets its own event log (the worst case for blobs: a real fleet's hosts
// differ in firmware and configuration; the emulated ones would share two).
// The bytes of each table with its indexes come from SQLite's dbstat.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

const (
	storageHosts   = 1000
	storageMinutes = 4 * 60 // simulated time: enough for raw rows and roll-ups
	// The verifier's settings (compact.go, Config.SummaryRetention).
	storageRawWindow = 2 * time.Hour
	storageCompact   = 10 * time.Minute
	storageRetention = 7 * 24 * time.Hour
)

// storedTemplate is one attestation as the verifier stores it.
type storedTemplate struct {
	status, code string
	evidence     []byte
	verdict      []byte
	// own are the blobs a real host has of its own (event log, verdict, PCR
	// values); shared are the bundles, which hosts share.
	own, shared []store.Blob
}

// templateOf reads back what Submit stored for a host of the bench fleet.
func templateOf(b *testing.B, st store.Store, host string) storedTemplate {
	ctx := context.Background()
	h, err := st.GetHost(ctx, host)
	if err != nil {
		b.Fatal(err)
	}
	le, err := st.LatestEvidence(ctx, host)
	if err != nil {
		b.Fatal(err)
	}
	var refs struct {
		Log     string   `json:"event_log_sha256"`
		Bundles []string `json:"bundles_sha256"`
		PCRs    []string `json:"quote_pcrs_sha256"`
		AK      []byte   `json:"ak_public"`
	}
	if err := json.Unmarshal(le.Evidence, &refs); err != nil || refs.Log == "" || len(refs.Bundles) == 0 ||
		len(refs.PCRs) == 0 || len(refs.AK) == 0 {
		b.Fatalf("stored evidence of %s names no log, bundles, PCR values or AK (%v): %.200s", host, err, le.Evidence)
	}
	var vref struct {
		Verdict string `json:"verdict_sha256"`
	}
	if err := json.Unmarshal(le.Verdict, &vref); err != nil || vref.Verdict == "" {
		b.Fatalf("stored verdict of %s names no blob (%v): %.200s", host, err, le.Verdict)
	}
	own := append([]string{refs.Log, vref.Verdict}, refs.PCRs...)
	got, err := st.GetBlobs(ctx, append(slices.Clone(own), refs.Bundles...))
	if err != nil {
		b.Fatal(err)
	}
	t := storedTemplate{status: h.Status, code: h.ReasonCode, evidence: le.Evidence, verdict: le.Verdict}
	for _, hs := range own {
		t.own = append(t.own, store.Blob{SHA256: hs, Data: got[hs]})
	}
	for _, hs := range refs.Bundles {
		t.shared = append(t.shared, store.Blob{SHA256: hs, Data: got[hs]})
	}
	return t
}

// forHost gives the template blobs of the host's own: each with the host's
// number appended, and the evidence and verdict naming them.
func (t storedTemplate) forHost(i int) (evidence, verdict []byte, blobs []store.Blob) {
	evidence, verdict = t.evidence, t.verdict
	for _, b := range t.own {
		mine := sha256Blob(append(bytes.Clone(b.Data), fmt.Sprintf("host %d", i)...))
		evidence = bytes.ReplaceAll(evidence, []byte(b.SHA256), []byte(mine.SHA256))
		verdict = bytes.ReplaceAll(verdict, []byte(b.SHA256), []byte(mine.SHA256))
		blobs = append(blobs, mine)
	}
	return evidence, verdict, append(blobs, t.shared...)
}

func BenchmarkStorageWeek(b *testing.B) {
	ctx := context.Background()
	f := newBenchFleet(b, 10) // host 9 boots with Secure Boot off
	for _, i := range []int{0, 9} {
		f.attest(b, f.hosts[i], false)
	}
	src := f.v.Store()
	templates := []storedTemplate{templateOf(b, src, f.hosts[0].rec.Name), templateOf(b, src, f.hosts[9].rec.Name)}
	if templates[0].status != store.StatusPassed || templates[1].status != store.StatusFailed {
		b.Fatalf("templates are %s and %s, want Passed and Failed", templates[0].status, templates[1].status)
	}
	proto, err := src.GetHost(ctx, f.hosts[0].rec.Name)
	if err != nil {
		b.Fatal(err)
	}

	path := filepath.Join(b.TempDir(), "week.db")
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	type hostRec struct {
		tpl      storedTemplate
		evidence []byte
		verdict  []byte
		blobs    []store.Blob
	}
	hosts := make([]hostRec, storageHosts)
	for i := range hosts {
		h := proto
		h.Name, h.EKDigest, h.Status, h.StatusSince, h.EnrolledAt = fmt.Sprintf("host-%05d", i), fmt.Sprintf("%064x", i),
			store.StatusPending, t0, t0
		h.LastAttested, h.LastSeen, h.LastClock = nil, nil, store.ClockInfo{}
		if err := st.CreateHost(ctx, h); err != nil {
			b.Fatal(err)
		}
		tpl := templates[0]
		if i%10 == 9 {
			tpl = templates[1]
		}
		ev, vd, blobs := tpl.forHost(i)
		hosts[i] = hostRec{tpl: tpl, evidence: ev, verdict: vd, blobs: blobs}
	}

	b.ResetTimer()
	var foldTime time.Duration
	var folded int64
	start := time.Now()
	for b.Loop() {
		for m := range storageMinutes {
			minute := t0.Add(time.Duration(m) * time.Minute)
			for i, h := range hosts {
				at := minute.Add(time.Duration(i) * (time.Minute / storageHosts))
				_, err := st.RecordAttestation(ctx, store.AttestationRecord{Host: fmt.Sprintf("host-%05d", i), At: at,
					Status: h.tpl.status, ReasonCode: h.tpl.code, Reason: h.tpl.code, Evidence: h.evidence,
					Verdict: h.verdict, Blobs: h.blobs, DurationMicros: 4000,
					Clock: &store.ClockInfo{Clock: uint64(m) * 60000}, Credential: proto.Credential()})
				if err != nil {
					b.Fatal(err)
				}
			}
			now := minute.Add(time.Minute)
			if now.Sub(t0)%storageCompact != 0 {
				continue
			}
			t1 := time.Now()
			n, err := st.RollUpSummaries(ctx, now.Add(-storageRawWindow))
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				foldTime, folded = max(foldTime, time.Since(t1)), max(folded, n)
			}
			if _, err := st.PruneSummaries(ctx, now.Add(-storageRetention)); err != nil {
				b.Fatal(err)
			}
			if _, err := st.PruneBlobs(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	elapsed := time.Since(start)

	tables := tableBytes(b, path)
	records := int64(storageHosts * storageMinutes)
	b.Logf("%d hosts x %d minutes = %d attestations recorded in %s (%.0f us each, upkeep included)",
		storageHosts, storageMinutes, records, elapsed.Round(time.Second), float64(elapsed.Microseconds())/float64(records))
	b.Logf("largest roll-up: %d summaries folded in %s, in batches of up to 2,000 (about %s each)", folded,
		foldTime.Round(time.Millisecond), (foldTime * 2000 / time.Duration(max(folded, 2000))).Round(time.Millisecond))
	b.Logf("templates: stored evidence %d B and verdict %d B per attestation; the host's own blobs %d B "+
		"(event log %d B, verdict %d B, PCR values %d B); %d shared bundles %d B",
		len(templates[0].evidence), len(templates[0].verdict), blobBytes(templates[0].own), len(templates[0].own[0].Data),
		len(templates[0].own[1].Data), blobBytes(templates[0].own[2:]),
		len(templates[0].shared), blobBytes(templates[0].shared))
	week := weekFigure(b, tables)
	b.ReportMetric(float64(week)/1e6, "MB/week@10k")
	var total int64
	for _, t := range tables {
		total += t.bytes
	}
	b.ReportMetric(float64(total)/float64(storageHosts), "B/host")
}

func sha256Blob(data []byte) store.Blob {
	sum := sha256.Sum256(data)
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: data}
}

func blobBytes(bs []store.Blob) int {
	n := 0
	for _, b := range bs {
		n += len(b.Data)
	}
	return n
}

// tableUse is a table's rows and bytes on disk with its indexes.
type tableUse struct {
	name  string
	rows  int64
	bytes int64
}

// tableBytes sums dbstat's pages per table, indexes counted with their table.
func tableBytes(b *testing.B, path string) map[string]tableUse {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d
		LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1`)
	if err != nil {
		b.Fatalf("dbstat (is SQLITE_ENABLE_DBSTAT_VTAB compiled in?): %v", err)
	}
	out := map[string]tableUse{}
	for rows.Next() {
		var t tableUse
		if err := rows.Scan(&t.name, &t.bytes); err != nil {
			b.Fatal(err)
		}
		out[t.name] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	for name, t := range out {
		if strings.HasPrefix(name, "sqlite_") {
			continue
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + name + `"`).Scan(&t.rows); err != nil {
			b.Fatal(err)
		}
		out[name] = t
	}
	var pages, size, free int64
	db.QueryRow("PRAGMA page_count").Scan(&pages)
	db.QueryRow("PRAGMA page_size").Scan(&size)
	db.QueryRow("PRAGMA freelist_count").Scan(&free)
	b.Logf("file: %d pages of %d B = %d B, %d of them free", pages, size, pages*size, free)
	return out
}

// weekFigure logs each table's bytes per row and what 10,000 hosts attesting
// every minute keep after a week, and returns the total.
func weekFigure(b *testing.B, tables map[string]tableUse) int64 {
	const fleet = 10000
	perHost := float64(fleet) / storageHosts
	// Rows after a week of 10,000 hosts, every minute:
	rows := map[string]float64{
		// one per host
		"hosts": fleet, "latest_evidence": fleet,
		// the first verdict of each host; a stable fleet adds no more
		"status_changes": fleet,
		// raw rows live from 2 h up to 2 h 10 min (folded every 10 minutes)
		"attestation_summaries": fleet * (storageRawWindow + storageCompact).Minutes(),
		// one per host, hour and status for the 7 days
		"attestation_rollups": fleet * storageRetention.Hours(),
		// a host's own log, PCR values and verdict (the worst case:
		// no two hosts alike), shared bundles
		"blobs":            float64(tables["blobs"].rows) * perHost,
		"blob_sets":        float64(tables["blob_sets"].rows) * perHost,
		"blob_set_members": float64(tables["blob_set_members"].rows) * perHost,
		// small tables that do not grow with attestations
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var total int64
	b.Logf("%-24s %10s %12s %9s %14s %14s", "table", "rows", "bytes", "B/row", "week rows", "week bytes")
	for _, n := range names {
		t := tables[n]
		perRow := 0.0
		if t.rows > 0 {
			perRow = float64(t.bytes) / float64(t.rows)
		}
		wr, ok := rows[n]
		week := int64(wr * perRow)
		if !ok { // fixed: as measured
			wr, week = float64(t.rows), t.bytes
		}
		total += week
		b.Logf("%-24s %10d %12d %9.0f %14.0f %14d", n, t.rows, t.bytes, perRow, wr, week)
	}
	b.Logf("week, 10,000 hosts every minute: %d B = %.0f MB", total, float64(total)/1e6)
	return total
}
