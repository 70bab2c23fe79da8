package eventlog

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"slices"
	"sort"
)

// NumPCRs is the number of PCRs of a PC Client TPM (PTP §4.6).
const NumPCRs = 24

// ReplayError reports the first PCR, in PCR order, whose replay from the log
// differs from the value it was compared with.
type ReplayError struct {
	Bank Alg
	PCR  int
	Want []byte // the value given (quoted or read from the TPM)
	Got  []byte // the value the log replays to
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("replay %v PCR %d: log gives %x, want %x", e.Bank, e.PCR, e.Got, e.Want)
}

// PCR replay outcomes, as PCRResult.Status spells them.
const (
	StatusMatch    = "match"    // the log replays to the given value
	StatusMismatch = "mismatch" // the log replays to another value
	// StatusUnlogged: the log has no events for the PCR and the given value
	// is not its reset value. Something extended it without logging here
	// (IMA or other software after boot); the log neither proves nor
	// contradicts the value. Verified treats this as an error.
	StatusUnlogged = "unlogged"
)

// PCRResult is the replay of one PCR compared with a given value.
type PCRResult struct {
	PCR    int
	Want   []byte
	Got    []byte // the log's replay; the reset value when it has no events
	Events int    // measured events of the log in this PCR
	Status string // StatusMatch, StatusMismatch or StatusUnlogged
}

// ReplayResult is the outcome of ReplayAgainst for one bank.
type ReplayResult struct {
	Bank Alg
	PCRs []PCRResult // in PCR order
	// Match is true when no PCR has StatusMismatch.
	Match bool
}

// pcrState is the replay of every PCR of one bank, kept in fixed arrays so
// the hot path does not allocate per event.
type pcrState struct {
	bank   Alg
	size   int
	vals   [NumPCRs][maxDigestSize]byte
	events [NumPCRs]int
	// missing holds 1 + the index of the first event of the PCR that has
	// no digest in this bank, or 0.
	missing [NumPCRs]int
	start0  byte // PCR 0's initial locality byte
}

// missingErr says why a PCR cannot be replayed, or is nil.
func (s *pcrState) missingErr(pcr int) error {
	if s.missing[pcr] == 0 {
		return nil
	}
	return fmt.Errorf("replay %v PCR %d: event %d has no %v digest", s.bank, pcr, s.missing[pcr]-1, s.bank)
}

func (s *pcrState) value(pcr int) []byte {
	if s.events[pcr] == 0 {
		return resetValue(pcr, s.size, s.start0)
	}
	return slices.Clone(s.vals[pcr][:s.size])
}

// resetValue is a PCR's value before any extend (PTP §4.6, PFP §3.3.4.5):
// PCRs 17-22 reset to all ones until a dynamic launch, PCR 0 holds the
// startup locality in its last byte, the rest are zero.
func resetValue(pcr, size int, locality byte) []byte {
	v := make([]byte, size)
	switch {
	case pcr >= 17 && pcr <= 22:
		for i := range v {
			v[i] = 0xff
		}
	case pcr == 0:
		v[size-1] = locality
	}
	return v
}

// isReset reports whether v is a value a PCR without events may hold: its
// reset value, or for PCRs 17-22 zero (reset by a dynamic launch that logged
// nothing here).
func isReset(pcr int, v []byte, locality byte) bool {
	if bytes.Equal(v, resetValue(pcr, len(v), locality)) {
		return true
	}
	return pcr >= 17 && pcr <= 22 && bytes.Equal(v, make([]byte, len(v)))
}

// startupLocality finds PCR 0's initial value (PFP §10.4.5.3 and §3.3.4.5):
// a "StartupLocality" EV_NO_ACTION event before the first PCR 0 measurement
// gives the locality TPM2_Startup ran at (0 or 3); without one, an H-CRTM
// sequence (EV_EFI_HCRTM_EVENT as the first PCR 0 measurement) starts from
// locality 4, as _TPM_Hash_Start resets PCR 0 to 4.
func (l *Log) startupLocality() (byte, error) {
	var (
		loc     byte
		seenLoc bool
	)
	for i := range l.Events {
		e := &l.Events[i]
		if e.PCR != 0 {
			continue
		}
		if e.Type == EvNoAction {
			if !bytes.HasPrefix(e.Data, []byte("StartupLocality\x00")) {
				continue
			}
			if len(e.Data) != 17 {
				return 0, fmt.Errorf("event %d at offset %d: StartupLocality event of %d bytes, want 17", e.Index, e.Offset, len(e.Data))
			}
			if seenLoc {
				return 0, fmt.Errorf("event %d at offset %d: second StartupLocality event", e.Index, e.Offset)
			}
			switch loc = e.Data[16]; loc {
			case 0, 3, 4:
			default:
				return 0, fmt.Errorf("event %d at offset %d: startup locality %d, want 0, 3 or 4", e.Index, e.Offset, loc)
			}
			seenLoc = true
			continue
		}
		// The first measurement of PCR 0 ends the search.
		if !seenLoc && e.Type == EvEFIHCRTMEvent {
			return 4, nil
		}
		return loc, nil
	}
	return loc, nil
}

func (l *Log) hasBank(bank Alg) bool { return slices.Contains(l.Banks, bank) }

// replay extends every measured event's digest of one bank into its PCR.
// EV_NO_ACTION events are not extended (PFP §10.4.1). Only the bank's own
// digests are used: banks are never mixed.
func (l *Log) replay(bank Alg, s *pcrState) error {
	h, ok := bank.Hash()
	if !ok {
		return fmt.Errorf("replay %v: no hash implementation for this algorithm", bank)
	}
	if !l.hasBank(bank) {
		return fmt.Errorf("replay %v: the log has no %v bank (it has %v)", bank, bank, l.Banks)
	}
	loc, err := l.startupLocality()
	if err != nil {
		return fmt.Errorf("replay %v: %w", bank, err)
	}
	s.bank, s.size, s.start0 = bank, bank.Size(), loc
	var hh hash.Hash = h.New()
	for i := range l.Events {
		e := &l.Events[i]
		if e.Type == EvNoAction {
			continue
		}
		// Parse accepted only PCRs 0-23 for measured events.
		d, ok := e.Digest(bank)
		if !ok {
			// The PCR cannot be replayed in this bank; callers fail only if
			// they need it.
			if s.missing[e.PCR] == 0 {
				s.missing[e.PCR] = e.Index + 1
			}
			continue
		}
		if len(d) != s.size {
			return fmt.Errorf("replay %v: event %d at offset %d has a %d-byte digest, want %d", bank, e.Index, e.Offset, len(d), s.size)
		}
		v := s.vals[e.PCR][:s.size]
		if s.events[e.PCR] == 0 {
			clear(v)
			if e.PCR == 0 {
				v[s.size-1] = loc
			}
		}
		extend(hh, bank, v, d)
		s.events[e.PCR]++
	}
	return nil
}

// extend sets v to H(v || d), as TPM2_PCR_Extend does. The common banks
// hash a stack buffer with the one-shot functions: the replay's hot loop,
// with no hash state to reset and copy per event.
func extend(hh hash.Hash, bank Alg, v, d []byte) {
	switch bank {
	case SHA1, SHA256, SHA384, SHA512:
		var buf [2 * maxDigestSize]byte
		n := copy(buf[:], v)
		n += copy(buf[n:], d)
		switch bank {
		case SHA1:
			sum := sha1.Sum(buf[:n])
			copy(v, sum[:])
		case SHA256:
			sum := sha256.Sum256(buf[:n])
			copy(v, sum[:])
		case SHA384:
			sum := sha512.Sum384(buf[:n])
			copy(v, sum[:])
		default:
			sum := sha512.Sum512(buf[:n])
			copy(v, sum[:])
		}
	default:
		hh.Reset()
		hh.Write(v)
		hh.Write(d)
		hh.Sum(v[:0])
	}
}

// Replay computes, for one bank, the value of every PCR that has measured
// events in the log. The values are what the log claims; they mean nothing
// until compared with PCR values a TPM quote covers (see Verified).
func (l *Log) Replay(bank Alg) (map[int][]byte, error) {
	var s pcrState
	if err := l.replay(bank, &s); err != nil {
		return nil, err
	}
	out := make(map[int][]byte)
	for pcr := 0; pcr < NumPCRs; pcr++ {
		if err := s.missingErr(pcr); err != nil {
			return nil, err
		}
		if s.events[pcr] > 0 {
			out[pcr] = s.value(pcr)
		}
	}
	return out, nil
}

// ReplayAgainst replays one bank and compares every PCR in want with it. A
// PCR without events is compared with its reset value; if it differs, the
// PCR is StatusUnlogged, reported but not a mismatch. The error is a
// *ReplayError for the first PCR that mismatches, returned together with the
// full result, or another error (and no result) when a wanted PCR cannot be
// replayed in this bank or want is malformed.
func (l *Log) ReplayAgainst(bank Alg, want map[int][]byte) (*ReplayResult, error) {
	var s pcrState
	if err := l.replay(bank, &s); err != nil {
		return nil, err
	}
	pcrs, err := checkPCRValues(bank, want)
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{Bank: bank, Match: true}
	var first *ReplayError
	for _, pcr := range pcrs {
		if err := s.missingErr(pcr); err != nil {
			return nil, err
		}
		w := want[pcr]
		r := PCRResult{PCR: pcr, Want: w, Got: s.value(pcr), Events: s.events[pcr], Status: StatusMatch}
		switch {
		case r.Events == 0 && !isReset(pcr, w, s.start0):
			r.Status = StatusUnlogged
		case r.Events > 0 && !bytes.Equal(w, r.Got):
			r.Status = StatusMismatch
			res.Match = false
			if first == nil {
				first = &ReplayError{Bank: bank, PCR: pcr, Want: w, Got: r.Got}
			}
		}
		res.PCRs = append(res.PCRs, r)
	}
	if first != nil {
		return res, first
	}
	return res, nil
}

// checkPCRValues returns the PCR indices of vals in order, after checking
// each index and value size.
func checkPCRValues(bank Alg, vals map[int][]byte) ([]int, error) {
	pcrs := make([]int, 0, len(vals))
	for pcr, v := range vals {
		if pcr < 0 || pcr >= NumPCRs {
			return nil, fmt.Errorf("%v PCR %d: index out of range 0-%d", bank, pcr, NumPCRs-1)
		}
		if len(v) != bank.Size() {
			return nil, fmt.Errorf("%v PCR %d: value of %d bytes, want %d", bank, pcr, len(v), bank.Size())
		}
		pcrs = append(pcrs, pcr)
	}
	sort.Ints(pcrs)
	return pcrs, nil
}

// Verified returns the events whose digests the given PCR values prove, in
// log order. quoted must hold PCR values of one bank that the caller has
// verified are covered by a TPM quote signed by a trusted key.
//
// This is the only way the appraisal should obtain events. The rules follow
// go-attestation's fix for CVE-2022-0317, where a quote over none or only some
// PCRs let events the TPM never saw pass as verified:
//   - every quoted PCR with events must replay exactly to its quoted value,
//     using this bank's digests only;
//   - a quoted PCR without events must hold its reset value, or the log is
//     missing its events;
//   - events of PCRs that were not quoted are dropped, never returned, and so
//     are EV_NO_ACTION events, which nothing extends.
//
// A replay mismatch is a *ReplayError. An event's type and data are not
// covered by its digest; callers that read the data must check it against
// the digest where the spec defines the digest as the hash of the data.
func (l *Log) Verified(bank Alg, quoted map[int][]byte) ([]Event, error) {
	covered, err := l.verify(bank, quoted)
	if err != nil {
		return nil, err
	}
	n := 0
	for i := range l.Events {
		if e := &l.Events[i]; provenEvent(e, &covered) {
			n++
		}
	}
	out := make([]Event, 0, n)
	for i := range l.Events {
		if e := &l.Events[i]; provenEvent(e, &covered) {
			out = append(out, *e)
		}
	}
	return out, nil
}

// Verify checks the log against quoted PCR values of one bank under the
// rules of Verified, without returning the events: for the banks whose
// replay must hold but whose events no decision reads.
func (l *Log) Verify(bank Alg, quoted map[int][]byte) error {
	_, err := l.verify(bank, quoted)
	return err
}

func provenEvent(e *Event, covered *[NumPCRs]bool) bool {
	return e.Type != EvNoAction && e.PCR >= 0 && e.PCR < NumPCRs && covered[e.PCR]
}

// verify replays bank and compares every quoted PCR; it returns which PCRs
// the quote covers.
func (l *Log) verify(bank Alg, quoted map[int][]byte) (covered [NumPCRs]bool, err error) {
	if len(quoted) == 0 {
		return covered, fmt.Errorf("verify log in %v: no quoted PCRs", bank)
	}
	var s pcrState
	if err := l.replay(bank, &s); err != nil {
		return covered, err
	}
	pcrs, err := checkPCRValues(bank, quoted)
	if err != nil {
		return covered, fmt.Errorf("verify log: %w", err)
	}
	for _, pcr := range pcrs {
		if err := s.missingErr(pcr); err != nil {
			return covered, fmt.Errorf("verify log: %w", err)
		}
		q := quoted[pcr]
		if s.events[pcr] == 0 {
			if !isReset(pcr, q, s.start0) {
				return covered, &ReplayError{Bank: bank, PCR: pcr, Want: q, Got: s.value(pcr)}
			}
		} else if got := s.vals[pcr][:s.size]; !bytes.Equal(got, q) {
			return covered, &ReplayError{Bank: bank, PCR: pcr, Want: q, Got: slices.Clone(got)}
		}
		covered[pcr] = true
	}
	return covered, nil
}
