package ima

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
)

// aggregateOf computes a boot_aggregate the way the kernel would.
func aggregateOf(alg, bank eventlog.Alg, q PCRs, pcrs int) []byte {
	var buf []byte
	for i := 0; i < pcrs; i++ {
		buf = append(buf, q[bank][uint32(i)]...)
	}
	return alg.Sum(buf)
}

func aggregateEntry(t *testing.T, alg string, d []byte) *Entry {
	t.Helper()
	var r raw
	if alg == "ima" {
		r = legacyEntry("boot_aggregate", "")
		copy(r.bin[24+4+3:], d) // the legacy digest follows the template name
	} else {
		r = entryOf(10, "ima-ng", false, dng(alg, d), nng("boot_aggregate"))
	}
	return &mustParse(t, r.bin)[0]
}

func TestBootAggregate(t *testing.T) {
	boot := bootPCRs("this boot")
	other := bootPCRs("another boot")
	no89 := bootPCRs("this boot")
	delete(no89[eventlog.SHA256], 9)
	sha256Only := PCRs{eventlog.SHA256: no89[eventlog.SHA256]}
	tests := []struct {
		name   string
		entry  *Entry
		quoted PCRs
		want   Aggregate
		err    string
	}{
		{"5.8+: sha256 over PCRs 0-9 of the sha256 bank",
			aggregateEntry(t, "sha256", aggregateOf(eventlog.SHA256, eventlog.SHA256, boot, 10)), boot,
			Aggregate{Kind: AggregateBank, Alg: eventlog.SHA256, Bank: eventlog.SHA256, PCRs: []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, ""},
		{"sha384 bank",
			aggregateEntry(t, "sha384", aggregateOf(eventlog.SHA384, eventlog.SHA384, boot, 10)), boot,
			Aggregate{Kind: AggregateBank, Alg: eventlog.SHA384, Bank: eventlog.SHA384, PCRs: []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, ""},
		{"sha1: PCRs 0-7 only",
			aggregateEntry(t, "sha1", aggregateOf(eventlog.SHA1, eventlog.SHA1, boot, 8)), boot,
			Aggregate{Kind: AggregateBank, Alg: eventlog.SHA1, Bank: eventlog.SHA1, PCRs: []uint32{0, 1, 2, 3, 4, 5, 6, 7}}, ""},
		{"legacy ima template",
			aggregateEntry(t, "ima", aggregateOf(eventlog.SHA1, eventlog.SHA1, boot, 8)), boot,
			Aggregate{Kind: AggregateBank, Alg: eventlog.SHA1, Bank: eventlog.SHA1, PCRs: []uint32{0, 1, 2, 3, 4, 5, 6, 7}}, ""},
		{"older kernel: sha256 over the sha1 bank's PCRs 0-7",
			aggregateEntry(t, "sha256", aggregateOf(eventlog.SHA256, eventlog.SHA1, boot, 8)), boot,
			Aggregate{Kind: AggregateSHA1PCRs, Alg: eventlog.SHA256, Bank: eventlog.SHA1, PCRs: []uint32{0, 1, 2, 3, 4, 5, 6, 7}}, ""},
		{"another boot",
			aggregateEntry(t, "sha256", aggregateOf(eventlog.SHA256, eventlog.SHA256, other, 10)), boot, Aggregate{},
			"ima.boot_aggregate: entry 0 (boot_aggregate): digest sha256:"},
		{"quote lacks PCR 9",
			aggregateEntry(t, "sha256", aggregateOf(eventlog.SHA256, eventlog.SHA256, boot, 10)), sha256Only, Aggregate{},
			"the quote lacks PCRs 0-9 of the sha256 bank; the quote lacks PCRs 0-7 of the sha1 bank"},
		{"no TPM at IMA start", aggregateEntry(t, "sha256", make([]byte, 32)), boot, Aggregate{},
			"digest is all zero: the kernel found no TPM"},
		{"md5 is no bank", aggregateEntry(t, "md5", make([]byte, 16)), boot, Aggregate{},
			"digest md5:00000000000000000000000000000000 is not a digest of a PCR bank's algorithm"},
		{"not the first entry", &mustParse(t, ngEntry("/usr/bin/ls", "x").bin)[0], boot, Aggregate{},
			"ima.boot_aggregate: entry 0 (/usr/bin/ls): the list must start with boot_aggregate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckBootAggregate(tt.entry, tt.quoted)
			if tt.err != "" {
				var ee *EntryError
				if !errors.As(err, &ee) || ee.Code() != CodeBootAggregate || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ima.boot_aggregate containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("aggregate (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBootAggregateNamesWhatEachGives: the error of another boot shows the
// value each computation gives, so an operator can see which PCRs differ.
func TestBootAggregateNamesWhatEachGives(t *testing.T) {
	boot, other := bootPCRs("this boot"), bootPCRs("another boot")
	_, err := CheckBootAggregate(aggregateEntry(t, "sha256",
		aggregateOf(eventlog.SHA256, eventlog.SHA256, other, 10)), boot)
	want := []string{
		"PCRs 0-9 of the sha256 bank give " + fmt.Sprintf("%x", aggregateOf(eventlog.SHA256, eventlog.SHA256, boot, 10)),
		"PCRs 0-7 of the sha1 bank give " + fmt.Sprintf("%x", aggregateOf(eventlog.SHA256, eventlog.SHA1, boot, 8)),
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to say %q", err, w)
		}
	}
}
