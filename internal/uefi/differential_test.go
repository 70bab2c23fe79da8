package uefi_test

import (
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/google/go-attestation/attest"
)

// TestSecureBootDifferential runs go-attestation's ParseSecurebootState on
// the same events (all events of the SHA-256 bank, or SHA-1 for legacy logs)
// and checks that whenever both give a state, the states agree.
func TestSecureBootDifferential(t *testing.T) {
	agree, onlyOurs, onlyTheirs := 0, 0, 0
	for _, c := range corpusCases(t) {
		l, err := eventlog.Parse(c.Log)
		if err != nil {
			continue
		}
		el, err := attest.ParseEventLog(c.Log)
		if err != nil {
			continue
		}
		alg := attest.HashSHA256
		if l.Format == eventlog.FormatSHA1Legacy {
			alg = attest.HashSHA1
		}
		theirs, theirErr := attest.ParseSecurebootState(el.Events(alg))
		ours, ourErr := uefi.SecureBootState(l.Events)
		switch {
		case theirErr == nil && ourErr == nil:
			agree++
			if ours.Enabled != theirs.Enabled {
				t.Errorf("%s: Enabled = %v, go-attestation %v", c.Name, ours.Enabled, theirs.Enabled)
			}
			if ours.DB != nil && len(ours.DB.Certs) < len(theirs.PermittedKeys) {
				t.Errorf("%s: db has %d certificates, go-attestation %d", c.Name, len(ours.DB.Certs), len(theirs.PermittedKeys))
			}
		case ourErr == nil:
			onlyOurs++
			t.Logf("%s: go-attestation: %v; bootproof: enabled=%v", c.Name, theirErr, ours.Enabled)
		case theirErr == nil:
			onlyTheirs++
			t.Logf("%s: bootproof: %v; go-attestation: enabled=%v", c.Name, ourErr, theirs.Enabled)
		}
	}
	t.Logf("both give a state for %d logs (all agree); only bootproof %d; only go-attestation %d", agree, onlyOurs, onlyTheirs)
}
