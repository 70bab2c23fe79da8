package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/store"
)

// BenchmarkReportFleet10k renders the fleet page of the security report
// over the real SQLite store holding 10,000 hosts (default sort: status by
// urgency, 100 rows a page): the server time a user waits for.
func BenchmarkReportFleet10k(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: filepath.Join(b.TempDir(), "data"), ReportAuthDisabled: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	statuses := []string{store.StatusPassed, store.StatusPassed, store.StatusPassed, store.StatusFailed, store.StatusNA, store.StatusUnreachable}
	for i := range 10_000 {
		st := statuses[i%len(statuses)]
		h := store.Host{Name: fmt.Sprintf("host-%05d", i), Group: fmt.Sprintf("rack-%02d", i%40), TPMFamily: store.TPMFamily20,
			EKDigest: fmt.Sprintf("%064x", i), EnrolledAt: now, Status: st, StatusSince: now, LastAttested: &now}
		if st == store.StatusFailed {
			h.ReasonCode, h.Reason = "secureboot.disabled", "Secure Boot was disabled at boot."
		}
		if err := s.Store.CreateHost(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	registerReport(mux, s, auth.New(nil))
	for _, q := range []string{"/", "/?status=Failed", "/?sort=name&page=50"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest("GET", q, nil))
				if rec.Code != 200 {
					b.Fatalf("GET %s: %d", q, rec.Code)
				}
			}
		})
	}
}
