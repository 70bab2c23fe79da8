package ima

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
)

var allBanks = eventlog.Algs

// sampleLog has each kind of entry a replay treats differently: the
// length-prefixed templates, the legacy `ima` template and a violation.
func sampleLog() []raw {
	return []raw{
		ngEntry("boot_aggregate", "boot"),
		ngEntry("/usr/bin/bash", "bash"),
		legacyEntry("/usr/lib/libc.so.6", "libc"),
		violation("/var/log/messages"),
		entryOf(10, "ima-sig", false, dng("sha256", make([]byte, 32)), nng("/usr/bin/dd"), []byte{3, 2, 4}),
		ngEntry("/usr/sbin/sshd", "sshd"),
	}
}

func withPath(r raw, path string, rehash bool) raw {
	e := ngEntry(path, "bash")
	if !rehash {
		copy(e.bin[4:24], r.hash[:])
	}
	return e
}

func TestProve(t *testing.T) {
	es := sampleLog()
	quoted := quote10(es, ModeBankHash, allBanks...)
	removed := append(append([]raw{}, es[:2]...), es[3:]...)
	reordered := append([]raw{es[0], es[2], es[1]}, es[3:]...)
	edited := append([]raw{}, es...)
	edited[1] = withPath(es[1], "/usr/bin/evil", false)
	editedRehashed := append([]raw{}, es...)
	editedRehashed[1] = withPath(es[1], "/usr/bin/evil", true)
	otherSHA256 := quote10(es, ModeBankHash, eventlog.SHA1)
	otherSHA256[eventlog.SHA256] = quote10(edited, ModeBankHash, eventlog.SHA256)[eventlog.SHA256]
	pcr11 := append(append([]raw{}, es...), entryOf(11, "ima-ng", false, dng("sha256", nil), nng("/x")))

	allPCRs := bootPCRs("boot")
	for a := range allPCRs {
		allPCRs[a][10] = quoted[a][10]
	}
	tests := []struct {
		name   string
		log    []raw
		quoted PCRs
		proven int
		mode   Mode
		err    string // the error's text, "" for none
	}{
		{"whole log, every bank", es, quoted, len(es), ModeBankHash, ""},
		{"quote of PCRs 0-10: only 10 is replayed", es, allPCRs, len(es), ModeBankHash, ""},
		{"quote without PCR 10", es, PCRs{eventlog.SHA256: {9: make([]byte, 32)}}, 0, 0,
			"ima.replay: the quote's sha256 bank lacks PCR 10"},
		{"older kernel: SHA-1 hash padded", es, quote10(es, ModeSHA1Padded, allBanks...), len(es), ModeSHA1Padded, ""},
		{"only SHA-1 quoted: mode undetermined", es, quote10(es, ModeBankHash, eventlog.SHA1), len(es), ModeUnknown, ""},
		{"log longer than the quote", es, quote10(es[:3], ModeBankHash, allBanks...), 3, ModeBankHash, ""},
		{"entry removed", removed, quoted, 0, 0, "ima.replay: sha1 PCR 10: no prefix"},
		{"entries reordered", reordered, quoted, 0, 0, "ima.replay: sha1 PCR 10: no prefix"},
		{"path edited, template hash kept", edited, quoted, 0, 0,
			"ima.template_hash: entry 1 (/usr/bin/evil): template hash"},
		{"path edited, template hash recomputed", editedRehashed, quoted, 0, 0, "ima.replay: sha1 PCR 10: no prefix"},
		{"SHA-1 replays, SHA-256 does not", es, otherSHA256, 0, 0,
			"ima.replay: sha256 PCR 10: no prefix of the entries replays to the quoted value in either mode (bank_hash, sha1_padded)"},
		{"entry extends a PCR the quote lacks", pcr11, quoted, 0, 0,
			"ima.replay: entry 6 (/x): extends PCR 11, which the quote's sha1 bank lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, n, err := State{}.Prove(mustParse(t, join(tt.log...)), tt.quoted)
			if tt.err != "" {
				if err == nil || !startsWith(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q...", err, tt.err)
				}
				var c interface{ Code() string }
				if !errors.As(err, &c) || !startsWith(tt.err, c.Code()+":") {
					t.Errorf("err %T has no code or the wrong one", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.proven || st.Next != uint64(tt.proven) || st.Mode != tt.mode {
				t.Errorf("proven %d, next %d, mode %v; want %d, %d, %v", n, st.Next, st.Mode, tt.proven, tt.proven, tt.mode)
			}
			want := quote10(tt.log[:tt.proven], tt.mode, sortedBanks(tt.quoted)...)
			for a := range want { // PCRs the list does not extend are not part of the state
				if tt.proven == 0 {
					want[a] = map[uint32][]byte{}
				}
			}
			if diff := cmp.Diff(want, st.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func startsWith(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// TestViolationExtendsOnes checks the all-ones rule on its own: a log of
// one violation reaches H(0 || ff..ff) in every bank.
func TestViolationExtendsOnes(t *testing.T) {
	for _, a := range allBanks {
		ones := make([]byte, 2*a.Size())
		for i := a.Size(); i < len(ones); i++ {
			ones[i] = 0xff
		}
		q := PCRs{a: {10: a.Sum(ones)}}
		if _, n, err := (State{}).Prove(mustParse(t, violation("/tmp/x").bin), q); err != nil || n != 1 {
			t.Errorf("%v: proven %d, %v; want the violation proven", a, n, err)
		}
	}
}

// TestIncremental proves the list in two attestations, split after every
// entry, each parsing only the new bytes, and checks the result equals
// proving the whole list at once.
func TestIncremental(t *testing.T) {
	es := sampleLog()
	log := join(es...)
	for _, mode := range []Mode{ModeBankHash, ModeSHA1Padded} {
		quoted := quote10(es, mode, allBanks...)
		whole, _, err := State{}.Prove(mustParse(t, log), quoted)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= len(es); k++ {
			t.Run(fmt.Sprintf("%v after %d", mode, k), func(t *testing.T) {
				first, pos, err := ParseAt(join(es[:k]...), Position{})
				if err != nil {
					t.Fatal(err)
				}
				st, _, err := State{}.Prove(first, quote10(es[:k], mode, allBanks...))
				if err != nil {
					t.Fatal(err)
				}
				rest, _, err := ParseAt(log[pos.Offset:], pos)
				if err != nil {
					t.Fatal(err)
				}
				st, _, err = st.Prove(rest, quoted)
				if err != nil {
					t.Fatal(err)
				}
				if k > 0 && st.Mode != mode { // with nothing proven first, the second call detects the mode
					t.Errorf("mode %v, want %v", st.Mode, mode)
				}
				if diff := cmp.Diff(whole, st); diff != "" {
					t.Errorf("incremental state (-whole +incremental):\n%s", diff)
				}
			})
		}
	}
}

// TestCannotSkipEntries: a host that claims a later position, or sends
// entries numbered past a gap, is refused with the entry expected.
func TestCannotSkipEntries(t *testing.T) {
	es := sampleLog()
	all := mustParse(t, join(es...))
	st, _, err := State{}.Prove(all[:2], quote10(es[:2], ModeBankHash, allBanks...))
	if err != nil {
		t.Fatal(err)
	}
	skipped := all[3:] // entry 2 left out, the rest keep their numbers
	_, _, err = st.Prove(skipped, quote10(es, ModeBankHash, allBanks...))
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Code() != CodeReplay || ee.Entry != 3 {
		t.Fatalf("err = %v, want ima.replay naming entry 3", err)
	}
	if want := "ima.replay: entry 3 (/var/log/messages): out of place: expected entry 2"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	// Renumbering the later entries to follow on does not help: they do not
	// replay from the proven state to the quote.
	renumbered, _, err := ParseAt(join(es[3:]...), Position{Entry: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Prove(renumbered, quote10(es, ModeBankHash, allBanks...))
	var re *ReplayError
	if !errors.As(err, &re) {
		t.Errorf("err = %v, want a *ReplayError", err)
	}
}

// TestNewBankNeedsStartOver: a state proven in SHA-1 alone cannot go on in
// a SHA-256 bank it never replayed.
func TestNewBankNeedsStartOver(t *testing.T) {
	es := sampleLog()
	all := mustParse(t, join(es...))
	st, _, err := State{}.Prove(all[:2], quote10(es[:2], ModeBankHash, eventlog.SHA1))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Prove(all[2:], quote10(es, ModeBankHash, allBanks...))
	var ie *Error
	if !errors.As(err, &ie) || ie.Code() != CodeReplay ||
		err.Error() != "ima.replay: bank sha256 was not replayed before entry 2; start over from entry 0" {
		t.Errorf("err = %v, want the start-over error", err)
	}
}
