package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/web"
)

// TestFleetByStatusPages checks the report's default order (Failed first,
// then by name) across page boundaries, against a plain in-memory sort.
func TestFleetByStatusPages(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	statuses := []string{store.StatusPassed, store.StatusFailed, store.StatusNA, store.StatusUnreachable, store.StatusPending, store.StatusPassed}
	var want []web.HostRow
	for i := range 23 {
		h := store.Host{Name: fmt.Sprintf("h-%02d", 22-i), Group: "g", TPMFamily: "2.0", EKDigest: fmt.Sprint(i),
			EnrolledAt: now, Status: statuses[i%len(statuses)], StatusSince: now}
		if err := s.Store.CreateHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		want = append(want, web.HostRow{Name: h.Name, Status: h.Status})
	}
	src := &reportSource{s: s}
	for _, desc := range []bool{false, true} {
		exp := append([]web.HostRow(nil), want...)
		sortRows(exp, web.SortStatus, desc)
		var got []string
		for p := 1; p <= 5; p++ {
			page, err := src.Fleet(ctx, web.FleetQuery{Sort: web.SortStatus, Desc: desc, Page: p, PageSize: 5})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 23 {
				t.Fatalf("total = %d, want 23", page.Total)
			}
			for _, r := range page.Rows {
				got = append(got, r.Status+" "+r.Name)
			}
		}
		var wantNames []string
		for _, r := range exp {
			wantNames = append(wantNames, r.Status+" "+r.Name)
		}
		if diff := cmp.Diff(wantNames, got); diff != "" {
			t.Errorf("desc=%v: pages differ from the sorted fleet (-want +got):\n%s", desc, diff)
		}
	}
	page, err := src.Fleet(ctx, web.FleetQuery{Status: store.StatusFailed, Sort: web.SortStatus, Page: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || len(page.Rows) != 4 || page.Counts[store.StatusPassed] != 7 {
		t.Errorf("Failed filter: total %d, rows %d, counts %v", page.Total, len(page.Rows), page.Counts)
	}
}
