package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/store"
)

// NewStore returns a new, empty store for one test and arranges (with
// t.Cleanup) for it to be closed and removed.
type NewStore func(t *testing.T) store.Store

// Run checks that stores made by newStore behave as store.Store says. Every
// subtest gets its own empty store.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Groups", testGroups},
		{"DeleteGroup", testDeleteGroup},
		{"PolicyVersions", testPolicyVersions},
		{"PolicyVersionsConcurrent", testPolicyVersionsConcurrent},
		{"JudgedUnderVersion", testJudgedUnderVersion},
		{"ScanLatestEvidence", testScanLatestEvidence},
		{"HostRoundTrip", testHostRoundTrip},
		{"HostErrors", testHostErrors},
		{"UpdateHost", testUpdateHost},
		{"UpdateHostConcurrent", testUpdateHostConcurrent},
		{"DeleteHostCascades", testDeleteHostCascades},
		{"HostPins", testHostPins},
		{"ListHosts", testListHosts},
		{"CountByStatus", testCountByStatus},
		{"RequestAttest", testRequestAttest},
		{"RecordAttestation", testRecordAttestation},
		{"RecordAttestationErrors", testRecordAttestationErrors},
		{"RecordAttestationConcurrent", testRecordAttestationConcurrent},
		{"RecordAttestationNonce", testRecordAttestationNonce},
		{"RecordAttestationCredential", testRecordAttestationCredential},
		{"HistoryPaging", testHistoryPaging},
		{"SummariesAndPrune", testSummariesAndPrune},
		{"SummaryRollUp", testSummaryRollUp},
		{"Blobs", testBlobs},
		{"BlobEdges", testBlobEdges},
		{"BlobsConcurrent", testBlobsConcurrent},
		{"EvidenceLimits", testEvidenceLimits},
		{"RetainEvidence", testRetainEvidence},
		{"MarkUnreachable", testMarkUnreachable},
		{"Nonces", testNonces},
		{"NonceRace", testNonceRace},
		{"Challenges", testChallenges},
		{"JoinTokens", testJoinTokens},
		{"JoinTokenRace", testJoinTokenRace},
		{"APITokens", testAPITokens},
		{"Audit", testAudit},
		{"Deliveries", testDeliveries},
		{"DeliveriesConcurrentClaim", testDeliveriesConcurrentClaim},
		{"EnqueueDelivery", testEnqueueDelivery},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"KV", testKV},
		{"TimesAreUTCMicros", testTimes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// t0 is the suite's "now": a fixed time with sub-second digits, so that a
// store that drops microseconds is caught.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

func ctx(t *testing.T) context.Context { return t.Context() }

// newHost returns a Pending host with every field set.
func newHost(name, group string) store.Host {
	return store.Host{
		Name:             name,
		Group:            group,
		TPMFamily:        store.TPMFamily20,
		EKPublic:         []byte("ek-public-" + name),
		EKDigest:         "ekdigest-" + name,
		EKCert:           []byte("ek-cert-" + name),
		AKPublic:         []byte("ak-public-" + name),
		ClientCertSHA256: "client-" + name,
		EnrolledAt:       t0,
		Status:           store.StatusPending,
		StatusSince:      t0,
		ReasonCode:       "",
		Reason:           "",
	}
}

// cred is the credential newHost gives host name: what a record of it
// must name to be kept.
func cred(name string) store.Credential { return newHost(name, "").Credential() }

func mustCreateHost(t *testing.T, s store.Store, h store.Host) {
	t.Helper()
	if err := s.CreateHost(ctx(t), h); err != nil {
		t.Fatalf("CreateHost(%q): %v", h.Name, err)
	}
}

func mustGetHost(t *testing.T, s store.Store, name string) store.Host {
	t.Helper()
	h, err := s.GetHost(ctx(t), name)
	if err != nil {
		t.Fatalf("GetHost(%q): %v", name, err)
	}
	return h
}

// wantErr fails t unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// race runs fn in n goroutines released together and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// diff reports want/got differences; nil and empty slices compare equal so
// that the suite does not depend on how a driver returns empty blobs.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) }))
}
