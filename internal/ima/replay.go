package ima

import (
	"bytes"
	"crypto/sha1" // the template hash IMA logs is SHA-1
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// Mode is how a kernel extends the non-SHA-1 banks. The SHA-1 bank is
// extended with the logged template hash in both.
type Mode uint8

const (
	// ModeUnknown: not yet determined (only the SHA-1 bank was proven).
	ModeUnknown Mode = iota
	// ModeBankHash: each bank is extended with the template data hashed in
	// the bank's algorithm (Linux 5.8 and later).
	ModeBankHash
	// ModeSHA1Padded: each bank is extended with the SHA-1 template hash
	// padded with zeros to the bank's size (kernels before 5.8).
	ModeSHA1Padded
)

func (m Mode) String() string {
	switch m {
	case ModeBankHash:
		return "bank_hash"
	case ModeSHA1Padded:
		return "sha1_padded"
	}
	return "unknown"
}

// PCRs holds PCR values by bank and index: quoted values, or a replay's.
type PCRs map[eventlog.Alg]map[uint32][]byte

// State is where a replay stands: the entries proven so far and the PCR
// values they reach. A verifier keeps it per host and boot; the zero State
// is the start of a boot (every PCR the list extends is zero).
type State struct {
	Mode   Mode   `json:"mode"`
	Next   uint64 `json:"next"` // entries proven; the index of the next entry
	Values PCRs   `json:"values"`
}

// Prove replays entries in the banks of quoted and returns the state after
// the shortest prefix of entries that reaches the quoted value of PCR 10
// (and of any other PCR an entry extends) in every bank, with the length
// of that prefix. Entries must be the list from entry s.Next on, parsed
// with ParseAt from the Position the verifier kept, never one the host
// claims. Entries after the prefix are not proven: the kernel appends
// while the agent reads, so a list read after the quote may be longer than
// the quote covers; the next quote proves them.
//
// With s.Mode unknown, both modes are tried and the one that held is
// returned in the new state. Errors: *EntryError (an entry out of place, a
// template hash that is not SHA-1 of its data, a PCR the quote lacks),
// *ReplayError (no prefix reaches the quoted values), *Error (the quote
// lacks PCR 10, or the state lacks a quoted bank: start over from 0).
func (s State) Prove(entries []Entry, quoted PCRs) (State, int, error) {
	if len(quoted) == 0 {
		return s, 0, replayErr("no quoted banks to replay against")
	}
	quoted, err := s.relevant(entries, quoted)
	if err != nil {
		return s, 0, err
	}
	if err := s.check(entries, quoted); err != nil {
		return s, 0, err
	}
	if s.Mode != ModeUnknown || !hasNonSHA1(quoted) {
		return s.prove(entries, quoted, s.Mode)
	}
	out, n, err := s.prove(entries, quoted, ModeBankHash)
	if err == nil {
		return out, n, nil
	}
	if out, n, err2 := s.prove(entries, quoted, ModeSHA1Padded); err2 == nil {
		return out, n, nil
	}
	if re, ok := err.(*ReplayError); ok {
		re.Msg += " in either mode (bank_hash, sha1_padded)"
	}
	return s, 0, err
}

// check validates what does not depend on the mode: entries follow on from
// s.Next, template hashes match their data, and the quote covers each PCR
// an entry extends.
func (s State) check(entries []Entry, quoted PCRs) error {
	for _, a := range sortedBanks(quoted) {
		if a.Size() == 0 || !knownBank(a) {
			return replayErr("bank %v cannot be replayed", a)
		}
		if s.Next > 0 && s.Values[a] == nil {
			return replayErr("bank %v was not replayed before entry %d; start over from entry 0", a, s.Next)
		}
	}
	covered := coveredPCRs(quoted)
	for i := range entries {
		e := &entries[i]
		if want := s.Next + uint64(i); e.Index != want {
			return &EntryError{Reason: CodeReplay, Entry: e.Index, Path: e.Path,
				Msg: fmt.Sprintf("out of place: expected entry %d", want)}
		}
		if !e.Violation() && sha1.Sum(e.TemplateData) != e.TemplateHash {
			return &EntryError{Reason: CodeTemplateHash, Entry: e.Index, Path: e.Path,
				Msg: fmt.Sprintf("template hash %x is not the SHA-1 of the template data", e.TemplateHash)}
		}
		if e.PCR >= 24 || covered[e.PCR] != 0 {
			return &EntryError{Reason: CodeReplay, Entry: e.Index, Path: e.Path,
				Msg: fmt.Sprintf("extends PCR %d, which the quote's %v bank lacks", e.PCR, covered[min(e.PCR, 23)])}
		}
	}
	return nil
}

// coveredPCRs maps each PCR to 0 when every quoted bank has it, else to
// the first bank that lacks it.
func coveredPCRs(quoted PCRs) [24]eventlog.Alg {
	var out [24]eventlog.Alg
	for p := range out {
		for _, a := range sortedBanks(quoted) {
			if _, ok := quoted[a][uint32(p)]; !ok {
				out[p] = a
				break
			}
		}
	}
	return out
}

// IMAPCR is the PCR the kernel's IMA extends unless its policy says
// otherwise (CONFIG_IMA_MEASURE_PCR_IDX).
const IMAPCR = 10

// relevant keeps of the quote the PCRs the list can extend: PCR 10, which
// must be quoted, and any other PCR an entry or the state names. A quote
// of all 24 PCRs can be passed as it is.
func (s State) relevant(entries []Entry, quoted PCRs) (PCRs, error) {
	var want [24]bool
	want[IMAPCR] = true
	for _, vals := range s.Values {
		for p := range vals {
			want[p%24] = true
		}
	}
	for i := range entries {
		want[entries[i].PCR%24] = true
	}
	out := PCRs{}
	for a, vals := range quoted {
		if _, ok := vals[IMAPCR]; !ok {
			return nil, replayErr("the quote's %v bank lacks PCR %d", a, IMAPCR)
		}
		out[a] = map[uint32][]byte{}
		for p, v := range vals {
			if p < 24 && want[p] {
				out[a][p] = v
			}
		}
	}
	return out, nil
}

// prove replays in one mode and stops at the first prefix that matches.
func (s State) prove(entries []Entry, quoted PCRs, mode Mode) (State, int, error) {
	banks := sortedBanks(quoted)
	ext := make([]*extender, len(banks))
	for i, a := range banks {
		ext[i] = newExtender(a, s.Values[a], quoted[a])
	}
	matches := func() bool {
		for _, x := range ext {
			if !x.matches() {
				return false
			}
		}
		return true
	}
	for n := 0; ; n++ {
		if matches() {
			return s.after(ext, mode, n), n, nil
		}
		if n == len(entries) {
			break
		}
		for _, x := range ext {
			x.extend(&entries[n], mode)
		}
	}
	return s, 0, mismatch(ext, quoted, s.Next+uint64(len(entries)))
}

// after is the state once n more entries are proven.
func (s State) after(ext []*extender, mode Mode, n int) State {
	out := State{Mode: mode, Next: s.Next + uint64(n), Values: PCRs{}}
	if n == 0 || !hasNonSHA1Ext(ext) {
		out.Mode = s.Mode // nothing told the modes apart
	}
	for _, x := range ext {
		out.Values[x.alg] = x.values()
	}
	return out
}

// mismatch names the first bank and PCR whose replay misses the quote.
func mismatch(ext []*extender, quoted PCRs, entries uint64) error {
	for _, x := range ext {
		for _, pcr := range sortedPCRs(quoted[x.alg]) {
			if got := x.value(pcr); !bytes.Equal(got, quoted[x.alg][pcr]) {
				return &ReplayError{Bank: x.alg.String(), PCR: pcr, Entries: entries,
					Quoted: quoted[x.alg][pcr], Computed: got,
					Msg: "no prefix of the entries replays to the quoted value"}
			}
		}
	}
	// Every bank matches at the end but never all at once at a prefix:
	// unreachable, since the end is a prefix; kept for safety.
	return replayErr("no prefix of the entries replays to the quoted values")
}
