package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
)

func putPolicy(t *testing.T, s store.Store, pv store.PolicyVersion) store.PolicyVersion {
	t.Helper()
	got, err := s.PutPolicy(ctx(t), pv)
	if err != nil {
		t.Fatalf("PutPolicy(%s, %q): %v", pv.Group, pv.Comment, err)
	}
	return got
}

func testPolicyVersions(t *testing.T, s store.Store) {
	_, err := s.PolicyVersions(ctx(t), "prod")
	wantErr(t, "PolicyVersions(absent group)", err, store.ErrNotFound)

	puts := []store.PolicyVersion{
		{Group: "prod", Policy: []byte("a: 1\n"), Author: "alice", At: t0, Comment: "first"},
		{Group: "prod", Policy: []byte("a: 2\n"), Author: "bob", At: at(time.Hour), Comment: "second"},
		{Group: "lab", Policy: []byte("b: 1\n"), Author: "carol", At: at(time.Minute)},
	}
	wantVersions := []int{1, 2, 1} // numbered per group
	for i, pv := range puts {
		if got := putPolicy(t, s, pv); got.Version != wantVersions[i] {
			t.Errorf("PutPolicy(%s, %q).Version = %d, want %d", pv.Group, pv.Comment, got.Version, wantVersions[i])
		}
	}
	// PutGroup is a version too, without an author.
	if err := s.PutGroup(ctx(t), store.Group{Name: "prod", Policy: []byte("a: 3\n"), CreatedAt: at(2 * time.Hour), UpdatedAt: at(2 * time.Hour)}); err != nil {
		t.Fatalf("PutGroup: %v", err)
	}
	g := mustGetGroup(t, s, "prod")
	if g.PolicyVersion != 3 || string(g.Policy) != "a: 3\n" || !g.CreatedAt.Equal(t0) {
		t.Errorf("group after three puts = version %d, policy %q, created %s; want 3, \"a: 3\\n\", %s", g.PolicyVersion, g.Policy, g.CreatedAt, t0)
	}
	list, err := s.PolicyVersions(ctx(t), "prod")
	if err != nil {
		t.Fatalf("PolicyVersions: %v", err)
	}
	want := []store.PolicyVersion{
		{Group: "prod", Version: 3, At: at(2 * time.Hour)},
		{Group: "prod", Version: 2, Author: "bob", At: at(time.Hour), Comment: "second"},
		{Group: "prod", Version: 1, Author: "alice", At: t0, Comment: "first"},
	}
	if d := diff(want, list); d != "" {
		t.Errorf("PolicyVersions(prod), newest first without YAML (-want +got):\n%s", d)
	}
	v1, err := s.GetPolicyVersion(ctx(t), "prod", 1)
	if err != nil {
		t.Fatalf("GetPolicyVersion(prod, 1): %v", err)
	}
	want[2].Policy = []byte("a: 1\n")
	if d := diff(want[2], v1); d != "" {
		t.Errorf("GetPolicyVersion(prod, 1) (-want +got):\n%s", d)
	}
	for _, v := range []int{0, 4} {
		_, err := s.GetPolicyVersion(ctx(t), "prod", v)
		wantErr(t, fmt.Sprintf("GetPolicyVersion(prod, %d)", v), err, store.ErrNotFound)
	}
	// A deleted group's versions go with it; made again, it starts at 1.
	if err := s.DeleteGroup(ctx(t), "lab"); err != nil {
		t.Fatalf("DeleteGroup(lab): %v", err)
	}
	if got := putPolicy(t, s, store.PolicyVersion{Group: "lab", Policy: []byte("b: 2\n"), At: at(3 * time.Hour)}); got.Version != 1 {
		t.Errorf("PutPolicy(lab after delete).Version = %d, want 1", got.Version)
	}
}

// testPolicyVersionsConcurrent: puts racing on one group each get their own
// version, and the group's policy is the highest's.
func testPolicyVersionsConcurrent(t *testing.T, s store.Store) {
	const n = 8
	got := make([]int, n)
	errs := race(n, func(i int) error {
		pv, err := s.PutPolicy(ctx(t), store.PolicyVersion{Group: "prod", Policy: []byte(fmt.Sprintf("n: %d\n", i)), At: t0})
		got[i] = pv.Version
		return err
	})
	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PutPolicy #%d: %v", i, err)
		}
		seen[got[i]] = true
	}
	for v := 1; v <= n; v++ {
		if !seen[v] {
			t.Errorf("versions of %d racing puts = %v, want each of 1..%d once", n, got, n)
			break
		}
	}
	last, err := s.GetPolicyVersion(ctx(t), "prod", n)
	if err != nil {
		t.Fatalf("GetPolicyVersion(%d): %v", n, err)
	}
	if g := mustGetGroup(t, s, "prod"); g.PolicyVersion != n || string(g.Policy) != string(last.Policy) {
		t.Errorf("group = version %d %q, want version %d %q", g.PolicyVersion, g.Policy, n, last.Policy)
	}
}

// testJudgedUnderVersion: the latest evidence and the status change keep
// the policy version a verdict was judged under.
func testJudgedUnderVersion(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	for i, st := range []string{store.StatusPassed, store.StatusFailed} {
		_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: "h1", At: at(time.Duration(i+1) * time.Minute),
			Status: st, Evidence: []byte("{}"), Verdict: []byte(st), Credential: cred("h1"), PolicyVersion: 7 + i})
		if err != nil {
			t.Fatalf("RecordAttestation(%s): %v", st, err)
		}
	}
	le, err := s.LatestEvidence(ctx(t), "h1")
	if err != nil {
		t.Fatalf("LatestEvidence: %v", err)
	}
	if le.PolicyVersion != 8 || le.Status != store.StatusFailed {
		t.Errorf("LatestEvidence = version %d, status %q; want 8, Failed", le.PolicyVersion, le.Status)
	}
	hist, err := s.History(ctx(t), "h1", 0, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	var versions []int
	for _, sc := range hist {
		versions = append(versions, sc.PolicyVersion)
	}
	if d := diff([]int{8, 7}, versions); d != "" {
		t.Errorf("History's policy versions, newest first (-want +got):\n%s", d)
	}
}

// testScanLatestEvidence pages through hosts with evidence, by name, in one
// group or all; hosts without evidence are not in it.
func testScanLatestEvidence(t *testing.T, s store.Store) {
	for i, name := range []string{"a1", "a2", "b1", "a3", "a4"} {
		group := "prod"
		if name == "b1" {
			group = "lab"
		}
		mustCreateHost(t, s, newHost(name, group))
		if name == "a4" {
			continue // never attested
		}
		_, err := s.RecordAttestation(ctx(t), store.AttestationRecord{Host: name, At: at(time.Duration(i) * time.Minute),
			Status: store.StatusPassed, Evidence: []byte(`{"host":"` + name + `"}`), Verdict: []byte("v"),
			Credential: cred(name), PolicyVersion: 3})
		if err != nil {
			t.Fatalf("RecordAttestation(%s): %v", name, err)
		}
	}
	tests := []struct {
		group string
		limit int
		want  []string
	}{
		{"prod", 2, []string{"a1", "a2", "a3"}},
		{"prod", 0, []string{"a1", "a2", "a3"}},
		{"", 1, []string{"a1", "a2", "a3", "b1"}},
		{"lab", 5, []string{"b1"}},
		{"none", 5, nil},
	}
	for _, tt := range tests {
		var got []string
		after := ""
		for pages := 0; pages < 10; pages++ {
			page, err := s.ScanLatestEvidence(ctx(t), tt.group, after, tt.limit)
			if err != nil {
				t.Fatalf("ScanLatestEvidence(%q, %q, %d): %v", tt.group, after, tt.limit, err)
			}
			if len(page) == 0 {
				break
			}
			for _, he := range page {
				if string(he.Latest.Evidence) != `{"host":"`+he.Host.Name+`"}` || he.Latest.PolicyVersion != 3 ||
					he.Latest.Status != store.StatusPassed || he.Host.Group == "" || string(he.Host.AKPublic) != "ak-public-"+he.Host.Name {
					t.Errorf("ScanLatestEvidence row %s = %+v, want its own evidence, version 3, Passed, host fields", he.Host.Name, he.Latest)
				}
				got = append(got, he.Host.Name)
			}
			after = page[len(page)-1].Host.Name
		}
		if d := diff(tt.want, got); d != "" {
			t.Errorf("ScanLatestEvidence(group %q, pages of %d) (-want +got):\n%s", tt.group, tt.limit, d)
		}
	}
}

func mustGetGroup(t *testing.T, s store.Store, name string) store.Group {
	t.Helper()
	g, err := s.GetGroup(ctx(t), name)
	if err != nil {
		t.Fatalf("GetGroup(%q): %v", name, err)
	}
	return g
}
