package ima

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decoded is what a user reads off an entry.
type decoded struct {
	PCR                 uint32
	Template            string
	DigestAlg, DigType  string
	Digest              []byte
	Path                string
	Signature, Buffer   []byte
	ModsigAlg           string
	ModsigHash, Modsig  []byte
	EVMSig              []byte
	XattrNames          []string
	XattrValues         [][]byte
	UID, GID, Mode      *uint64
	FieldIDs            []string
	TemplateHashMatches bool
}

func decode(e Entry) decoded {
	d := decoded{PCR: e.PCR, Template: e.Template, DigestAlg: e.DigestAlg, DigType: e.DigestType,
		Digest: e.Digest, Path: e.Path, Signature: e.Signature, Buffer: e.Buffer,
		TemplateHashMatches: sha1.Sum(e.TemplateData) == e.TemplateHash}
	if x := e.Extra; x != nil {
		d.ModsigAlg, d.ModsigHash, d.Modsig, d.EVMSig = x.ModsigAlg, x.ModsigHash, x.Modsig, x.EVMSig
		d.XattrNames, d.XattrValues, d.UID, d.GID, d.Mode = x.XattrNames, x.XattrValues, x.UID, x.GID, x.Mode
	}
	for _, f := range e.Fields {
		d.FieldIDs = append(d.FieldIDs, f.ID)
	}
	return d
}

func u64(v uint64) *uint64 { return &v }

func TestParseTemplates(t *testing.T) {
	fd := sha256.Sum256([]byte("file"))
	d := fd[:]
	sig := []byte{3, 2, 4, 0xaa, 0xbb, 0xcc, 0xdd, 0, 2, 0x51, 0x52}
	legacyD := sha1.Sum([]byte("legacy"))
	tests := []struct {
		name string
		in   raw
		want decoded
	}{
		{"ima legacy", legacyEntry("/sbin/init", "legacy"), decoded{PCR: 10, Template: "ima", DigestAlg: "sha1",
			Digest: legacyD[:], Path: "/sbin/init", FieldIDs: []string{"d", "n"}}},
		{"ima-ng", ngEntry("/usr/bin/ls", "file"), decoded{PCR: 10, Template: "ima-ng", DigestAlg: "sha256",
			Digest: d, Path: "/usr/bin/ls", FieldIDs: []string{"d-ng", "n-ng"}}},
		{"ima-ng sha1 prefix", entryOf(10, "ima-ng", false, dng("sha1", legacyD[:]), nng("/a")), decoded{PCR: 10,
			Template: "ima-ng", DigestAlg: "sha1", Digest: legacyD[:], Path: "/a", FieldIDs: []string{"d-ng", "n-ng"}}},
		{"ima-ngv2", entryOf(10, "ima-ngv2", false, dng("ima:sha256", d), nng("/a")), decoded{PCR: 10,
			Template: "ima-ngv2", DigestAlg: "sha256", DigType: "ima", Digest: d, Path: "/a",
			FieldIDs: []string{"d-ngv2", "n-ng"}}},
		{"ima-sig signed", entryOf(11, "ima-sig", false, dng("sha256", d), nng("/usr/bin/dd"), sig), decoded{PCR: 11,
			Template: "ima-sig", DigestAlg: "sha256", Digest: d, Path: "/usr/bin/dd", Signature: sig,
			FieldIDs: []string{"d-ng", "n-ng", "sig"}}},
		{"ima-sig unsigned", entryOf(10, "ima-sig", false, dng("sha256", d), nng("/x"), nil), decoded{PCR: 10,
			Template: "ima-sig", DigestAlg: "sha256", Digest: d, Path: "/x", Signature: []byte{},
			FieldIDs: []string{"d-ng", "n-ng", "sig"}}},
		{"ima-buf", entryOf(10, "ima-buf", false, dng("sha256", d), nng("kexec-cmdline"), []byte("root=/dev/sda")),
			decoded{PCR: 10, Template: "ima-buf", DigestAlg: "sha256", Digest: d, Path: "kexec-cmdline",
				Buffer: []byte("root=/dev/sda"), FieldIDs: []string{"d-ng", "n-ng", "buf"}}},
		{"ima-modsig", entryOf(10, "ima-modsig", false, dng("sha256", d), nng("/lib/modules/x.ko"), nil,
			dng("sha512", make([]byte, 64)), []byte{0x30, 0x82}), decoded{PCR: 10, Template: "ima-modsig",
			DigestAlg: "sha256", Digest: d, Path: "/lib/modules/x.ko", Signature: []byte{}, ModsigAlg: "sha512",
			ModsigHash: make([]byte, 64), Modsig: []byte{0x30, 0x82},
			FieldIDs: []string{"d-ng", "n-ng", "sig", "d-modsig", "modsig"}}},
		{"evm-sig", entryOf(10, "evm-sig", false, dng("sha256", d), nng("/etc/x"), []byte{5, 2},
			[]byte("security.ima|security.evm"), append(le32(2), le32(3)...), []byte("abxyz"),
			le32(1000), le32(100), []byte{0xa4, 0x81}), decoded{PCR: 10, Template: "evm-sig",
			DigestAlg: "sha256", Digest: d, Path: "/etc/x", EVMSig: []byte{5, 2},
			XattrNames:  []string{"security.ima", "security.evm"},
			XattrValues: [][]byte{[]byte("ab"), []byte("xyz")}, UID: u64(1000), GID: u64(100), Mode: u64(0o100644),
			FieldIDs: []string{"d-ng", "n-ng", "evmsig", "xattrnames", "xattrlengths", "xattrvalues", "iuid", "igid", "imode"}}},
		{"custom template named by its fields", entryOf(10, "d-ng|n-ng|iuid", false, dng("sha256", d), nng("/c"), le32(7)),
			decoded{PCR: 10, Template: "d-ng|n-ng|iuid", DigestAlg: "sha256", Digest: d, Path: "/c", UID: u64(7),
				FieldIDs: []string{"d-ng", "n-ng", "iuid"}}},
		{"unknown template keeps raw fields", entryOf(10, "acme-v9", false, []byte("one"), []byte("two")),
			decoded{PCR: 10, Template: "acme-v9", FieldIDs: []string{"", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := mustParse(t, tt.in.bin)
			if len(es) != 1 {
				t.Fatalf("got %d entries, want 1", len(es))
			}
			tt.want.TemplateHashMatches = true
			if diff := cmp.Diff(tt.want, decode(es[0])); diff != "" {
				t.Errorf("decoded entry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseUnknownTemplateFieldData(t *testing.T) {
	es := mustParse(t, entryOf(10, "acme-v9", false, []byte("one"), []byte("two")).bin)
	got := [][]byte{es[0].Fields[0].Data, es[0].Fields[1].Data}
	if diff := cmp.Diff([][]byte{[]byte("one"), []byte("two")}, got); diff != "" {
		t.Errorf("raw fields (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	good := ngEntry("/bin/a", "a").bin
	n := len(good)
	tooLong := append(append(le32(10), make([]byte, 20)...), field([]byte("ima-ng"))...)
	tooLong = append(tooLong, le32(MaxEntrySize+1)...)
	tests := []struct {
		name   string
		log    []byte
		entry  uint64
		offset uint64
		msg    string
	}{
		{"truncated PCR", append(good, 10, 0), 1, uint64(n), "PCR index: need 4 bytes, 2 left"},
		{"truncated template hash", append(good, append(le32(10), 1, 2)...), 1, uint64(n) + 4, "template hash: need 20 bytes"},
		{"PCR out of range", append(le32(24), good[4:]...), 0, 0, "PCR index 24 is not a PCR"},
		{"template name too long", append(append(le32(10), make([]byte, 20)...), le32(256)...), 0, 24,
			"template name length 256 exceeds the limit of 255"},
		{"empty template name", append(append(le32(10), make([]byte, 20)...), le32(0)...), 0, 24, "empty template name"},
		{"template data over the limit", tooLong, 0, 34, "template data length 262145 exceeds the limit of 262144"},
		{"template data cut short", good[:n-3], 0, 38, "template data: need"},
		{"field overruns data", entryOfBroken(), 0, 38, "field 0 length 99 exceeds the limit of 4"},
		{"known template, wrong field count", entryOf(10, "ima-sig", false, dng("sha256", make([]byte, 32)), nng("/a")).bin,
			0, 39, "template ima-sig has 3 fields, the data holds 2"},
		{"bad imode size", entryOf(10, "d-ng|imode", false, dng("sha256", nil), []byte{1, 2, 3}).bin,
			0, 42 + 4 + 8, "field imode: 3 bytes, want 2, 4 or 8"},
		{"xattr lengths beyond values", entryOf(10, "xattrlengths|xattrvalues", false, le32(9), []byte("ab")).bin,
			0, 56 + 8, "xattr value 0 is 9 bytes, only 2 left"},
		{"legacy name too long", append(append(append(le32(10), make([]byte, 20)...), field([]byte("ima"))...),
			append(make([]byte, 20), le32(300)...)...), 0, 51, "ima template file name length 300 exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.log)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Entry != tt.entry || pe.Offset != tt.offset || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got entry %d offset %d %q; want entry %d offset %d containing %q",
					pe.Entry, pe.Offset, pe.Msg, tt.entry, tt.offset, tt.msg)
			}
		})
	}
}

// entryOfBroken frames template data whose one field claims 99 bytes.
func entryOfBroken() []byte {
	b := append(le32(10), make([]byte, 20)...)
	b = append(b, field([]byte("ima-ng"))...)
	return append(b, field(le32(99))...)
}

// TestParseAt checks that parsing from a position gives exactly the entries
// (index, offset, content) that parsing the whole list gives there.
func TestParseAt(t *testing.T) {
	es := []raw{legacyEntry("/init", "i"), ngEntry("/a", "a"), violation("/b"),
		entryOf(10, "ima-sig", false, dng("sha256", make([]byte, 32)), nng("/c"), []byte{3, 2})}
	log := join(es...)
	whole := mustParse(t, log)
	for k := range whole {
		at := Position{Entry: uint64(k), Offset: whole[k].Offset}
		tail, end, err := ParseAt(log[at.Offset:], at)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(whole[k:], tail); diff != "" {
			t.Errorf("from entry %d (-whole +tail):\n%s", k, diff)
		}
		if want := (Position{Entry: uint64(len(es)), Offset: uint64(len(log))}); end != want {
			t.Errorf("from entry %d: end %+v, want %+v", k, end, want)
		}
	}
	// An error in the tail names the entry and offset in the whole list.
	bad := append(log[whole[2].Offset:], 1)
	_, _, err := ParseAt(bad, Position{Entry: 2, Offset: whole[2].Offset})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Entry != 4 || pe.Offset != uint64(len(log)) {
		t.Errorf("err = %v, want entry 4 at byte %d", err, len(log))
	}
}

// TestParseEntryLimit: a call reads at most the limit, says so, and the
// rest parses from the position it returns.
func TestParseEntryLimit(t *testing.T) {
	defer func(n int) { entryLimit = n }(entryLimit)
	entryLimit = 3
	es := sampleLog()
	log := join(es...)
	first, pos, err := ParseAt(log, Position{})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "more than 3 entries in one call") || pe.Entry != 3 {
		t.Fatalf("err = %v, want the limit error at entry 3", err)
	}
	if len(first) != 3 || pos.Entry != 3 || pos.Offset != first[2].Offset+uint64(len(es[2].bin)) {
		t.Fatalf("got %d entries and position %+v", len(first), pos)
	}
	rest, end, err := ParseAt(log[pos.Offset:], pos)
	if err != nil || len(rest) != len(es)-3 || end.Entry != uint64(len(es)) {
		t.Fatalf("rest: %d entries, end %+v, %v", len(rest), end, err)
	}
}
