package quote

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// attestLayout is the wire layout of goAttest's quote.
func attestLayout() []placed {
	return layout(
		span{"magic", 4}, span{"type", 2},
		span{"qualifiedSigner", 2 + 34}, span{"extraData", 2 + 32},
		span{"clockInfo.clock", 8}, span{"clockInfo.resetCount", 4}, span{"clockInfo.restartCount", 4},
		span{"clockInfo.safe", 1}, span{"firmwareVersion", 8},
		span{"pcrSelect.count", 4},
		span{"pcrSelections[0].hash", 2}, span{"pcrSelections[0].sizeofSelect", 1}, span{"pcrSelections[0].pcrSelect", 3},
		span{"pcrDigest", 2 + 32},
	)
}

func offsetOf(l []placed, field string) int {
	for _, p := range l {
		if p.field == field {
			return p.start
		}
	}
	panic("no field " + field)
}

func TestParseAttestGood(t *testing.T) {
	sel := func(sels ...tpm2.TPMSPCRSelection) tpm2.TPMLPCRSelection {
		return tpm2.TPMLPCRSelection{PCRSelections: sels}
	}
	sha256All := tpm2.TPMSPCRSelection{Hash: tpm2.TPMAlgSHA256, PCRSelect: []byte{0xff, 0xff, 0xff}}
	sixteen := make([]tpm2.TPMSPCRSelection, 16)
	for i := range sixteen {
		sixteen[i] = tpm2.TPMSPCRSelection{Hash: tpm2.TPMIAlgHash(i), PCRSelect: []byte{byte(i)}}
	}
	tests := []struct {
		name string
		att  func() tpm2.TPMSAttest
	}{
		{"one bank", goAttest},
		{"no selection", func() tpm2.TPMSAttest { return goAttestWith(sel()) }},
		{"two banks", func() tpm2.TPMSAttest {
			return goAttestWith(sel(sha256All, tpm2.TPMSPCRSelection{Hash: tpm2.TPMAlgSHA1, PCRSelect: []byte{1, 0, 0x80}}))
		}},
		{"three banks", func() tpm2.TPMSAttest {
			return goAttestWith(sel(sha256All, sha256All, tpm2.TPMSPCRSelection{Hash: tpm2.TPMAlgSHA384, PCRSelect: []byte{}}))
		}},
		{"16 banks, the most", func() tpm2.TPMSAttest { return goAttestWith(sel(sixteen...)) }},
		{"sizeofSelect 32, the most", func() tpm2.TPMSAttest {
			return goAttestWith(sel(tpm2.TPMSPCRSelection{Hash: tpm2.TPMAlgSHA256, PCRSelect: seq(32, 1)}))
		}},
		{"empty name, nonce and digest; not safe", func() tpm2.TPMSAttest {
			a := goAttest()
			a.QualifiedSigner.Buffer, a.ExtraData.Buffer = nil, nil
			a.ClockInfo.Safe = false
			q, _ := a.Attested.Quote()
			q.PCRDigest.Buffer = nil
			return a
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.att()
			b := marshal(want)
			got, err := ParseAttest(b)
			if err != nil {
				t.Fatalf("ParseAttest: %v", err)
			}
			if diff := attestDiff(got, &want); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// attestDiff says how ours differs from go-tpm's decoding, or "".
func attestDiff(ours *Attest, g *tpm2.TPMSAttest) string {
	info, err := g.Attested.Quote()
	if err != nil {
		return fmt.Sprintf("go-tpm's value is not a quote: %v", err)
	}
	var d []string
	check := func(ok bool, field string, a, b any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s: ours %v, go-tpm %v", field, a, b))
		}
	}
	check(bytes.Equal(ours.QualifiedSigner, g.QualifiedSigner.Buffer), "qualifiedSigner", ours.QualifiedSigner, g.QualifiedSigner.Buffer)
	check(bytes.Equal(ours.ExtraData, g.ExtraData.Buffer), "extraData", ours.ExtraData, g.ExtraData.Buffer)
	check(ours.Clock == g.ClockInfo.Clock, "clock", ours.Clock, g.ClockInfo.Clock)
	check(ours.ResetCount == g.ClockInfo.ResetCount, "resetCount", ours.ResetCount, g.ClockInfo.ResetCount)
	check(ours.RestartCount == g.ClockInfo.RestartCount, "restartCount", ours.RestartCount, g.ClockInfo.RestartCount)
	check(ours.Safe == g.ClockInfo.Safe, "safe", ours.Safe, g.ClockInfo.Safe)
	check(ours.FirmwareVersion == g.FirmwareVersion, "firmwareVersion", ours.FirmwareVersion, g.FirmwareVersion)
	gs := info.PCRSelect.PCRSelections
	check(len(ours.PCRSelections) == len(gs), "len(pcrSelections)", len(ours.PCRSelections), len(gs))
	for i := range min(len(ours.PCRSelections), len(gs)) {
		o := ours.PCRSelections[i]
		check(o.Hash == uint16(gs[i].Hash), fmt.Sprintf("pcrSelections[%d].hash", i), o.Hash, gs[i].Hash)
		check(bytes.Equal(o.Select, gs[i].PCRSelect), fmt.Sprintf("pcrSelections[%d].pcrSelect", i), o.Select, gs[i].PCRSelect)
	}
	check(bytes.Equal(ours.PCRDigest, info.PCRDigest.Buffer), "pcrDigest", ours.PCRDigest, info.PCRDigest.Buffer)
	return strings.Join(d, "; ")
}

// TestParseAttestTruncated cuts a good quote at every length: each error
// names the field the cut falls in, at that field's offset.
func TestParseAttestTruncated(t *testing.T) {
	b := marshal(goAttest())
	l := attestLayout()
	if end := l[len(l)-1].end; end != len(b) {
		t.Fatalf("layout covers %d bytes, the quote has %d", end, len(b))
	}
	for n := range len(b) {
		_, err := ParseAttest(b[:n])
		p := fieldAt(l, n)
		// A cut before the magic or type is complete fails that field; the
		// header is checked as it is read.
		wantParseError(t, err, p.field, p.start)
	}
}

func TestParseAttestBad(t *testing.T) {
	l := attestLayout()
	at := func(f string) int { return offsetOf(l, f) }
	good := func() []byte { return marshal(goAttest()) }
	put16 := func(f string, v uint16) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint16(b[at(f):], v); return b }
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		field  string
		offset int
		says   string
	}{
		{"wrong magic", func(b []byte) []byte { b[0] = 0; return b }, "magic", 0, "TPM_GENERATED_VALUE"},
		{"certify, not quote", put16("type", 0x8017), "type", 4, "0x8017"},
		{"name longer than the rest", put16("qualifiedSigner", 0xffff), "qualifiedSigner", 6, "size 65535 exceeds"},
		{"nonce longer than the rest", put16("extraData", 200), "extraData", at("extraData"), "size 200 exceeds"},
		{"safe is 2", func(b []byte) []byte { b[at("clockInfo.safe")] = 2; return b }, "clockInfo.safe", at("clockInfo.safe"), "TPMI_YES_NO"},
		{"17 selections", func(b []byte) []byte { binary.BigEndian.PutUint32(b[at("pcrSelect.count"):], 17); return b },
			"pcrSelect.count", at("pcrSelect.count"), "at most 16"},
		{"2^32-1 selections", func(b []byte) []byte { binary.BigEndian.PutUint32(b[at("pcrSelect.count"):], 0xffffffff); return b },
			"pcrSelect.count", at("pcrSelect.count"), "4294967295"},
		{"two selections, one present", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[at("pcrSelect.count"):], 2)
			return b[:at("pcrDigest")]
		}, "pcrSelections[1].hash", at("pcrDigest"), "needs 2 bytes, 0 left"},
		{"sizeofSelect 33", func(b []byte) []byte { b[at("pcrSelections[0].sizeofSelect")] = 33; return b },
			"pcrSelections[0].sizeofSelect", at("pcrSelections[0].sizeofSelect"), "at most 32"},
		{"sizeofSelect past the end", func(b []byte) []byte {
			b[at("pcrSelections[0].sizeofSelect")] = 32
			return b[:at("pcrSelections[0].pcrSelect")+5]
		}, "pcrSelections[0].pcrSelect", at("pcrSelections[0].pcrSelect"), "needs 32 bytes, 5 left"},
		{"digest longer than the rest", put16("pcrDigest", 33), "pcrDigest", at("pcrDigest"), "size 33 exceeds the 32 bytes left"},
		{"digest shorter than the rest", put16("pcrDigest", 31), "end", len(good()) - 1, "trailing bytes after the structure: 1"},
		{"a byte after the quote", func(b []byte) []byte { return append(b, 0) }, "end", len(good()), "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAttest(tc.mutate(good()))
			if a != nil {
				t.Errorf("ParseAttest returned %+v with the error", a)
			}
			wantParseError(t, err, tc.field, tc.offset)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

// TestParseAttestMessage pins the error text the brief promised callers.
func TestParseAttestMessage(t *testing.T) {
	a := goAttest()
	a.QualifiedSigner.Buffer = seq(32, 1)
	b := marshal(a)[:54] // extraData's size at 40, then 12 bytes
	binary.BigEndian.PutUint16(b[40:], 70)
	_, err := ParseAttest(b)
	want := "TPMS_ATTEST: extraData at offset 40: size 70 exceeds the 12 bytes left"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestParseAttestAliases documents that the result aliases the input and
// cannot be grown into the bytes after a field.
func TestParseAttestAliases(t *testing.T) {
	b := marshal(goAttest())
	a, err := ParseAttest(b)
	if err != nil {
		t.Fatal(err)
	}
	b[offsetOf(attestLayout(), "extraData")+2] ^= 0xff
	if a.ExtraData[0] != b[offsetOf(attestLayout(), "extraData")+2] {
		t.Error("ExtraData does not alias the input")
	}
	if cap(a.ExtraData) != len(a.ExtraData) {
		t.Errorf("cap(ExtraData) = %d, want %d: an append would overwrite the input", cap(a.ExtraData), len(a.ExtraData))
	}
}
