package ima

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// How a kernel computed boot_aggregate (ima_calc_boot_aggregate).
const (
	// AggregateBank: Linux 5.8 and later hash, in the entry's algorithm,
	// PCRs 0-7 of the bank of that algorithm, and PCRs 8-9 too unless the
	// bank is SHA-1 (kept out of SHA-1 to avoid ambiguity with older
	// kernels).
	AggregateBank = "bank"
	// AggregateSHA1PCRs: older kernels hash, in the entry's algorithm, PCRs
	// 0-7 of the SHA-1 bank.
	AggregateSHA1PCRs = "sha1_pcrs"
)

// Aggregate says which computation of boot_aggregate held.
type Aggregate struct {
	Kind string       `json:"kind"` // AggregateBank or AggregateSHA1PCRs
	Alg  eventlog.Alg `json:"alg"`  // the entry's digest algorithm
	Bank eventlog.Alg `json:"bank"` // the bank whose PCR values it covers
	PCRs []uint32     `json:"pcrs"` // the PCRs it covers, in order
}

// CheckBootAggregate checks the first entry of the list, boot_aggregate,
// against quoted PCR values, which binds the runtime list to the boot the
// quote proves. It tries the current kernel's computation and the older
// one and says which held; errors (*EntryError, CodeBootAggregate) say
// what the entry holds and what each computation gives.
func CheckBootAggregate(e *Entry, quoted PCRs) (Aggregate, error) {
	fail := func(format string, a ...any) (Aggregate, error) {
		return Aggregate{}, &EntryError{Reason: CodeBootAggregate, Entry: e.Index, Path: e.Path,
			Msg: fmt.Sprintf(format, a...)}
	}
	if e.Index != 0 || e.Path != "boot_aggregate" {
		return fail("the list must start with boot_aggregate")
	}
	alg, err := eventlog.ParseAlg(e.DigestAlg)
	if err != nil || !knownBank(alg) || len(e.Digest) != alg.Size() {
		return fail("digest %s:%x is not a digest of a PCR bank's algorithm", e.DigestAlg, e.Digest)
	}
	if isZero(e.Digest) {
		return fail("digest is all zero: the kernel found no TPM when IMA started")
	}
	var tried []string
	for _, c := range aggregateCandidates(alg) {
		sum, ok := c.sum(quoted)
		if !ok {
			tried = append(tried, fmt.Sprintf("the quote lacks PCRs %s of the %v bank", pcrList(c.PCRs), c.Bank))
			continue
		}
		if bytes.Equal(sum, e.Digest) {
			return c, nil
		}
		tried = append(tried, fmt.Sprintf("PCRs %s of the %v bank give %x", pcrList(c.PCRs), c.Bank, sum))
	}
	return fail("digest %s:%x matches no quoted boot: %s", e.DigestAlg, e.Digest, strings.Join(tried, "; "))
}

// aggregateCandidates lists the computations a kernel may have used.
func aggregateCandidates(alg eventlog.Alg) []Aggregate {
	boot := []uint32{0, 1, 2, 3, 4, 5, 6, 7}
	if alg == eventlog.SHA1 {
		return []Aggregate{{Kind: AggregateBank, Alg: alg, Bank: alg, PCRs: boot}}
	}
	return []Aggregate{
		{Kind: AggregateBank, Alg: alg, Bank: alg, PCRs: append(boot, 8, 9)},
		{Kind: AggregateSHA1PCRs, Alg: alg, Bank: eventlog.SHA1, PCRs: boot},
	}
}

// sum hashes the covered PCR values in order; ok is false when the quote
// lacks one of them.
func (c Aggregate) sum(quoted PCRs) ([]byte, bool) {
	var buf []byte
	for _, p := range c.PCRs {
		v, ok := quoted[c.Bank][p]
		if !ok || len(v) != c.Bank.Size() {
			return nil, false
		}
		buf = append(buf, v...)
	}
	return c.Alg.Sum(buf), true
}

func pcrList(p []uint32) string {
	return fmt.Sprintf("%d-%d", p[0], p[len(p)-1])
}
