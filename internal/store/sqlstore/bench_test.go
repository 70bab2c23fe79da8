package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

var benchT0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// seedCred is the credential of every host seedHosts makes: their records
// name it.
var seedCred = store.Credential{AKPublic: make([]byte, 300)}

// seedHosts creates n hosts in four groups with mixed statuses.
func seedHosts(b testing.TB, s store.Store, n int) {
	b.Helper()
	statuses := store.Statuses
	for i := range n {
		h := store.Host{Name: fmt.Sprintf("host-%05d", i), Group: fmt.Sprintf("cluster-%d", i%4),
			TPMFamily: store.TPMFamily20, EKPublic: make([]byte, 300), EKDigest: fmt.Sprintf("%064x", i),
			AKPublic: seedCred.AKPublic, EnrolledAt: benchT0, Status: statuses[i%len(statuses)],
			StatusSince: benchT0, LastAttested: ptr(benchT0.Add(time.Duration(i) * time.Second))}
		if err := s.CreateHost(b.Context(), h); err != nil {
			b.Fatalf("CreateHost: %v", err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// benchRecordAttestation records attestations of 100 hosts round-robin; one
// in ten changes status, as a fleet with some churn would.
func benchRecordAttestation(b *testing.B, s store.Store) {
	const hosts = 100
	seedHosts(b, s, hosts)
	evidence, verdict := make([]byte, 24<<10), make([]byte, 2<<10) // a quote, a log and a verdict
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		status := store.StatusPassed
		if (i/hosts)%10 == 9 {
			status = store.StatusFailed
		}
		_, err := s.RecordAttestation(b.Context(), store.AttestationRecord{
			Host: fmt.Sprintf("host-%05d", i%hosts), At: benchT0.Add(time.Duration(i) * time.Millisecond),
			Status: status, ReasonCode: "", Clock: &store.ClockInfo{Clock: uint64(i)},
			Evidence: evidence, Verdict: verdict, DurationMicros: 900, Credential: seedCred,
			Webhook: &store.WebhookDelivery{Event: "host.status_changed", Payload: []byte(`{}`)},
		})
		if err != nil {
			b.Fatalf("RecordAttestation: %v", err)
		}
	}
}

func BenchmarkRecordAttestation(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRecordAttestation(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchRecordAttestation(b, newPostgres(b)) })
}

// benchListHosts pages through 10,000 hosts the way the report does.
func benchListHosts(b *testing.B, s store.Store) {
	seedHosts(b, s, 10000)
	queries := []store.HostQuery{
		{Limit: 50},
		{Sort: "last_attested", Desc: true, Limit: 50, Offset: 5000},
		{Status: store.StatusFailed, Group: "cluster-1", Limit: 50},
		{Search: "host-09", Sort: "status", Limit: 50},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := queries[i%len(queries)]
		hosts, total, err := s.ListHosts(b.Context(), q)
		if err != nil {
			b.Fatalf("ListHosts(%+v): %v", q, err)
		}
		if len(hosts) == 0 || total == 0 {
			b.Fatalf("ListHosts(%+v) found nothing", q)
		}
	}
}

func BenchmarkListHosts(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchListHosts(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchListHosts(b, newPostgres(b)) })
}

// benchAgentPath is what an agent's round costs the store besides
// RecordAttestation: the host looked up (certificate check, long-poll wake)
// and a nonce stored.
func benchAgentPath(b *testing.B, s store.Store) {
	const hosts = 100
	seedHosts(b, s, hosts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("host-%05d", i%hosts)
		if _, err := s.GetHost(b.Context(), name); err != nil {
			b.Fatalf("GetHost: %v", err)
		}
		n := store.Nonce{Value: []byte(fmt.Sprintf("nonce-%016d", i)), Host: name, ExpiresAt: benchT0.Add(time.Minute)}
		if err := s.PutNonce(b.Context(), n); err != nil {
			b.Fatalf("PutNonce: %v", err)
		}
	}
}

func BenchmarkAgentPath(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchAgentPath(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchAgentPath(b, newPostgres(b)) })
}
