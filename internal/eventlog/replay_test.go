package eventlog_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
)

// extend computes a PCR value from its start and the data of its events.
func extend(bank eventlog.Alg, start []byte, data ...[]byte) []byte {
	v := bytes.Clone(start)
	for _, d := range data {
		v = bank.Sum(append(v, bank.Sum(d)...))
	}
	return v
}

func zeros(n int) []byte { return make([]byte, n) }

func locality(bank eventlog.Alg, l byte) []byte {
	v := zeros(bank.Size())
	v[len(v)-1] = l
	return v
}

func zeroDigests(banks []eventlog.Alg) []eventlog.Digest {
	var ds []eventlog.Digest
	for _, b := range banks {
		ds = append(ds, eventlog.Digest{Alg: b, Value: zeros(b.Size())})
	}
	return ds
}

func TestReplayStart(t *testing.T) {
	s256 := eventlog.SHA256
	crtm := []byte("crtm")
	tests := []struct {
		name   string
		events []testEvent
		want   []byte // PCR 0
	}{
		{"zero", []testEvent{{pcr: 0, typ: eventlog.EvSCRTMVersion, data: crtm}}, extend(s256, zeros(32), crtm)},
		{"StartupLocality 3", []testEvent{
			{pcr: 0, typ: eventlog.EvNoAction, data: []byte("StartupLocality\x00\x03"), digests: zeroDigests(twoBanks)},
			{pcr: 0, typ: eventlog.EvSCRTMVersion, data: crtm},
		}, extend(s256, locality(s256, 3), crtm)},
		{"H-CRTM starts at locality 4", []testEvent{
			{pcr: 0, typ: eventlog.EvEFIHCRTMEvent, data: []byte("HCRTM")},
			{pcr: 0, typ: eventlog.EvSCRTMVersion, data: crtm},
		}, extend(s256, locality(s256, 4), []byte("HCRTM"), crtm)},
		{"EV_NO_ACTION is not extended", []testEvent{
			{pcr: 0, typ: eventlog.EvSCRTMVersion, data: crtm},
			{pcr: 0, typ: eventlog.EvNoAction, data: []byte("vendor"), digests: eventlog.Digests(twoBanks, []byte("vendor"))},
		}, extend(s256, zeros(32), crtm)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := eventlog.Parse(writeLog(t, twoBanks, tt.events...))
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Replay(s256)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[0], tt.want) {
				t.Errorf("PCR 0 = %x, want %x", got[0], tt.want)
			}
		})
	}
}

func TestReplayAgainst(t *testing.T) {
	s256 := eventlog.SHA256
	l, err := eventlog.Parse(writeLog(t, twoBanks,
		testEvent{pcr: 4, typ: eventlog.EvIPL, data: []byte("a")},
		testEvent{pcr: 5, typ: eventlog.EvIPL, data: []byte("b")},
	))
	if err != nil {
		t.Fatal(err)
	}
	pcr4 := extend(s256, zeros(32), []byte("a"))
	wrong5 := extend(s256, zeros(32), []byte("not b"))
	imaPCR := bytes.Repeat([]byte{0xab}, 32)
	ff := bytes.Repeat([]byte{0xff}, 32)
	res, err := l.ReplayAgainst(s256, map[int][]byte{4: pcr4, 5: wrong5, 9: zeros(32), 10: imaPCR, 17: ff})
	var re *eventlog.ReplayError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want *ReplayError", err)
	}
	if re.PCR != 5 || re.Bank != s256 || !bytes.Equal(re.Want, wrong5) || !bytes.Equal(re.Got, extend(s256, zeros(32), []byte("b"))) {
		t.Errorf("ReplayError = %+v", re)
	}
	var got []string
	for _, r := range res.PCRs {
		got = append(got, r.Status)
	}
	want := []string{eventlog.StatusMatch, eventlog.StatusMismatch, eventlog.StatusMatch, eventlog.StatusUnlogged, eventlog.StatusMatch}
	if diff := cmp.Diff(want, got); diff != "" || res.Match {
		t.Errorf("statuses for PCRs 4,5,9,10,17 (-want +got):\n%s\nMatch = %v", diff, res.Match)
	}
	if _, err := l.ReplayAgainst(s256, map[int][]byte{4: pcr4[:20]}); err == nil || errors.As(err, &re) {
		t.Errorf("a 20-byte sha256 value: error %v, want a plain error", err)
	}
	if _, err := l.ReplayAgainst(eventlog.SHA1, map[int][]byte{4: zeros(20)}); err == nil {
		t.Errorf("ReplayAgainst(sha1) on a sha256+sha512 log succeeded")
	}
}

// TestVerified checks the rules that keep invented events out of the
// appraisal (go-attestation CVE-2022-0317).
func TestVerified(t *testing.T) {
	s256, s512 := eventlog.SHA256, eventlog.SHA512
	fw := []byte("firmware")
	loader := []byte("loader")
	sbOn := []byte("SecureBoot=1")
	honest := []testEvent{
		{pcr: 0, typ: eventlog.EvSCRTMVersion, data: fw},
		{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: loader},
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbOn},
	}
	l, err := eventlog.Parse(writeLog(t, twoBanks, honest...))
	if err != nil {
		t.Fatal(err)
	}
	quote := func(bank eventlog.Alg) map[int][]byte {
		return map[int][]byte{
			0: extend(bank, zeros(bank.Size()), fw),
			4: extend(bank, zeros(bank.Size()), loader),
			7: extend(bank, zeros(bank.Size()), sbOn),
		}
	}
	indices := func(es []eventlog.Event) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Index)
		}
		return out
	}

	// A log with an invented PCR 7 event in place of the real one; its
	// sha256 digest is honest for the invented data, the TPM never saw it.
	forged, err := eventlog.Parse(writeLog(t, twoBanks, honest[0], honest[1],
		testEvent{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: []byte("SecureBoot=1 (invented)")}))
	if err != nil {
		t.Fatal(err)
	}
	// A log whose sha512 digests are honest but whose sha256 digests are not:
	// a sha512 quote proves the events, a sha256 one must not.
	mixed, err := eventlog.Parse(writeLog(t, twoBanks, testEvent{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbOn,
		digests: []eventlog.Digest{{Alg: s256, Value: s256.Sum([]byte("other"))}, {Alg: s512, Value: s512.Sum(sbOn)}}}))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		log       *eventlog.Log
		bank      eventlog.Alg
		quoted    map[int][]byte
		want      []int // event indices
		wantErr   bool
		replayErr int // PCR of the *ReplayError, or -1
	}{
		{"all quoted", l, s256, quote(s256), []int{1, 2, 3}, false, -1},
		{"sha512 bank", l, s512, quote(s512), []int{1, 2, 3}, false, -1},
		{"only PCR 0 quoted: others dropped", l, s256, map[int][]byte{0: quote(s256)[0]}, []int{1}, false, -1},
		{"no PCRs quoted", l, s256, map[int][]byte{}, nil, true, -1},
		{"quoted PCR 9 at reset with no events", l, s256, map[int][]byte{7: quote(s256)[7], 9: zeros(32)}, []int{3}, false, -1},
		{"quoted PCR 9 extended but no events", l, s256, map[int][]byte{7: quote(s256)[7], 9: bytes.Repeat([]byte{1}, 32)}, nil, true, 9},
		{"invented PCR 7 event", forged, s256, quote(s256), nil, true, 7},
		{"invented event, PCR 7 not quoted", forged, s256, map[int][]byte{0: quote(s256)[0], 4: quote(s256)[4]}, []int{1, 2}, false, -1},
		{"sha512 proves mixed log", mixed, s512, map[int][]byte{7: quote(s512)[7]}, []int{1}, false, -1},
		{"sha256 does not borrow sha512 digests", mixed, s256, map[int][]byte{7: quote(s256)[7]}, nil, true, 7},
		{"PCR 24 quoted", l, s256, map[int][]byte{24: zeros(32)}, nil, true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.log.Verified(tt.bank, tt.quoted)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Verified returned events %v, want an error", indices(got))
				}
				var re *eventlog.ReplayError
				if isRE := errors.As(err, &re); isRE != (tt.replayErr >= 0) || (isRE && re.PCR != tt.replayErr) {
					t.Errorf("error %v, want ReplayError on PCR %d", err, tt.replayErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verified: %v", err)
			}
			if diff := cmp.Diff(tt.want, indices(got)); diff != "" {
				t.Errorf("verified events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReplayMissingDigest: an event lacking a bank's digest makes that
// PCR, and only that PCR, unreplayable in the bank.
func TestReplayMissingDigest(t *testing.T) {
	s256 := eventlog.SHA256
	b := writeLog(t, twoBanks, testEvent{pcr: 4, typ: eventlog.EvIPL, data: []byte("a")})
	// Append an event on PCR 12 with only a sha256 digest.
	b = append(b, agileEvent(12, eventlog.EvEventTag, []eventlog.Digest{{Alg: s256, Value: s256.Sum([]byte("t"))}}, []byte("t"))...)
	l, err := eventlog.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verified(eventlog.SHA512, map[int][]byte{4: extend(eventlog.SHA512, zeros(64), []byte("a"))}); err != nil {
		t.Errorf("Verified(sha512, PCR 4): %v", err)
	}
	if _, err := l.Verified(eventlog.SHA512, map[int][]byte{12: zeros(64)}); err == nil {
		t.Errorf("Verified(sha512, PCR 12) succeeded without sha512 digests")
	}
	if _, err := l.Replay(eventlog.SHA512); err == nil {
		t.Errorf("Replay(sha512) succeeded without every sha512 digest")
	}
	if got, err := l.Replay(s256); err != nil || !bytes.Equal(got[12], extend(s256, zeros(32), []byte("t"))) {
		t.Errorf("Replay(sha256) PCR 12 = %x, %v", got[12], err)
	}
}
