package eventlog_test

import (
	"errors"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// TestAgreesWithReferenceResults checks every corpus log against what the
// reference parsers recorded in reference-results.json: the same logs parse,
// with the same number of events as go-attestation counts.
func TestAgreesWithReferenceResults(t *testing.T) {
	refs := references(t)
	for _, c := range corpusCases(t) {
		ref, ok := refs[c.Name]
		if !ok {
			t.Errorf("%s: no reference result", c.Name)
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			log, err := eventlog.Parse(c.Log)
			if (err == nil) != ref.Verdict.Parses {
				t.Fatalf("Parse error = %v; the reference verdict says parses=%v", err, ref.Verdict.Parses)
			}
			var pe *eventlog.ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("error %v is not a *ParseError naming the event and offset", err)
			}
			if err != nil || !ref.GoAttestation.Parses {
				return
			}
			// go-attestation counts events without the Spec ID header.
			got := len(log.Events)
			if log.Format == eventlog.FormatCryptoAgile {
				got--
			}
			if got != ref.GoAttestation.EventsTotal {
				t.Errorf("%d events, go-attestation counted %d", got, ref.GoAttestation.EventsTotal)
			}
		})
	}
}
