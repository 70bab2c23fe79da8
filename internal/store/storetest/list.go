package storetest

import (
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func testListHosts(t *testing.T, s store.Store) {
	// name, group, status, minutes since t0 of last attestation (-1: never)
	fleet := []struct {
		name, group, status string
		attested            int
	}{
		{"esx-01", "prod", store.StatusPassed, 5},
		{"esx-02", "prod", store.StatusFailed, 1},
		{"ESX-03", "prod", store.StatusPassed, -1},
		{"kvm_01", "lab", store.StatusPassed, 3},
		{"kvm-02", "lab", store.StatusNA, -1},
		{"kvm%03", "lab", store.StatusPending, 2},
	}
	for _, f := range fleet {
		h := newHost(f.name, f.group)
		h.Status = f.status
		if f.attested >= 0 {
			h.LastAttested = ptr(at(time.Duration(f.attested) * time.Minute))
		}
		mustCreateHost(t, s, h)
	}
	tests := []struct {
		name      string
		q         store.HostQuery
		wantNames []string
		wantTotal int
	}{
		{"all by name", store.HostQuery{}, []string{"ESX-03", "esx-01", "esx-02", "kvm%03", "kvm-02", "kvm_01"}, 6},
		{"by name desc", store.HostQuery{Sort: "name", Desc: true}, []string{"kvm_01", "kvm-02", "kvm%03", "esx-02", "esx-01", "ESX-03"}, 6},
		{"status", store.HostQuery{Status: store.StatusPassed}, []string{"ESX-03", "esx-01", "kvm_01"}, 3},
		{"group", store.HostQuery{Group: "lab"}, []string{"kvm%03", "kvm-02", "kvm_01"}, 3},
		{"group and status", store.HostQuery{Group: "prod", Status: store.StatusPassed}, []string{"ESX-03", "esx-01"}, 2},
		{"search ignores case", store.HostQuery{Search: "esx-0"}, []string{"ESX-03", "esx-01", "esx-02"}, 3},
		{"search underscore is literal", store.HostQuery{Search: "_"}, []string{"kvm_01"}, 1},
		{"search percent is literal", store.HostQuery{Search: "%"}, []string{"kvm%03"}, 1},
		{"search no match", store.HostQuery{Search: "nope"}, nil, 0},
		{"last attested, never last", store.HostQuery{Sort: "last_attested"},
			[]string{"esx-02", "kvm%03", "kvm_01", "esx-01", "ESX-03", "kvm-02"}, 6},
		{"last attested desc, never still last", store.HostQuery{Sort: "last_attested", Desc: true},
			[]string{"esx-01", "kvm_01", "kvm%03", "esx-02", "kvm-02", "ESX-03"}, 6},
		{"status then name", store.HostQuery{Sort: "status"},
			[]string{"esx-02", "kvm-02", "ESX-03", "esx-01", "kvm_01", "kvm%03"}, 6},
		{"first page", store.HostQuery{Limit: 2}, []string{"ESX-03", "esx-01"}, 6},
		{"second page", store.HostQuery{Limit: 2, Offset: 2}, []string{"esx-02", "kvm%03"}, 6},
		{"past the end", store.HostQuery{Limit: 2, Offset: 6}, nil, 6},
		{"page of a filter", store.HostQuery{Group: "lab", Sort: "name", Desc: true, Limit: 1, Offset: 1}, []string{"kvm-02"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, total, err := s.ListHosts(ctx(t), tt.q)
			if err != nil {
				t.Fatalf("ListHosts(%+v): %v", tt.q, err)
			}
			var names []string
			for _, h := range hosts {
				names = append(names, h.Name)
			}
			if d := diff(tt.wantNames, names); d != "" {
				t.Errorf("ListHosts(%+v) names (-want +got):\n%s", tt.q, d)
			}
			if total != tt.wantTotal {
				t.Errorf("ListHosts(%+v) total = %d, want %d", tt.q, total, tt.wantTotal)
			}
		})
	}
	// Full rows come back, not just names.
	hosts, _, err := s.ListHosts(ctx(t), store.HostQuery{Search: "esx-01"})
	if err != nil || len(hosts) != 1 {
		t.Fatalf("ListHosts(esx-01) = %d hosts, %v", len(hosts), err)
	}
	if d := diff(mustGetHost(t, s, "esx-01"), hosts[0]); d != "" {
		t.Errorf("ListHosts row differs from GetHost (-want +got):\n%s", d)
	}
	for _, bad := range []store.HostQuery{{Sort: "ek_public; DROP TABLE hosts"}, {Sort: "Name"}, {Offset: -1}} {
		if _, _, err := s.ListHosts(ctx(t), bad); err == nil {
			t.Errorf("ListHosts(%+v) succeeded, want an error", bad)
		}
	}
}
