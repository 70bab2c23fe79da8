package ima

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// raw is one entry as the test built it, kept apart from what Parse reads
// so the reference replay below does not depend on the parser.
type raw struct {
	pcr      uint32
	template string
	hash     [20]byte // as logged
	hashed   []byte   // what the template hash covers
	bin      []byte   // the entry in binary_runtime_measurements
}

func le32(n int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(n)) }

// field frames one template field: u32 length, data.
func field(b []byte) []byte { return append(le32(len(b)), b...) }

func dng(alg string, d []byte) []byte { return append([]byte(alg+":\x00"), d...) }

func nng(path string) []byte { return append([]byte(path), 0) }

// entryOf frames an entry of a length-prefixed template; the template hash
// is SHA-1 of the data unless violation.
func entryOf(pcr uint32, template string, violation bool, fields ...[]byte) raw {
	var data []byte
	for _, f := range fields {
		data = append(data, field(f)...)
	}
	r := raw{pcr: pcr, template: template, hashed: data}
	if !violation {
		r.hash = sha1.Sum(data)
	}
	r.bin = append(le32(int(pcr)), r.hash[:]...)
	r.bin = append(append(r.bin, field([]byte(template))...), field(data)...)
	return r
}

// ngEntry is an ima-ng entry for a file with the given content.
func ngEntry(path, content string) raw {
	d := sha256.Sum256([]byte(content))
	return entryOf(10, "ima-ng", false, dng("sha256", d[:]), nng(path))
}

// violation is what the kernel logs for a ToMToU or open-writers event.
func violation(path string) raw {
	return entryOf(10, "ima-ng", true, dng("sha256", make([]byte, 32)), nng(path))
}

// legacyEntry is an entry of the `ima` template: SHA-1 digest, then the
// name with a length; the hash covers the name padded to 256 bytes.
func legacyEntry(path, content string) raw {
	d := sha1.Sum([]byte(content))
	hashed := append(d[:], make([]byte, 256)...)
	copy(hashed[20:], path)
	r := raw{pcr: 10, template: "ima", hashed: hashed, hash: sha1.Sum(hashed)}
	r.bin = append(le32(10), r.hash[:]...)
	r.bin = append(append(append(r.bin, field([]byte("ima"))...), d[:]...), field([]byte(path))...)
	return r
}

func join(es ...raw) []byte {
	var b []byte
	for _, e := range es {
		b = append(b, e.bin...)
	}
	return b
}

// kernelDigest is what a kernel extends bank a with for the entry.
func kernelDigest(e raw, a eventlog.Alg, mode Mode) []byte {
	switch {
	case e.hash == [20]byte{}:
		return bytes.Repeat([]byte{0xff}, a.Size())
	case a == eventlog.SHA1 || mode == ModeSHA1Padded:
		return append(e.hash[:], make([]byte, a.Size()-20)...)
	}
	return a.Sum(e.hashed)
}

// refPCR replays entries into one bank the slow, obvious way.
func refPCR(es []raw, a eventlog.Alg, mode Mode) []byte {
	v := make([]byte, a.Size())
	for _, e := range es {
		v = a.Sum(append(bytes.Clone(v), kernelDigest(e, a, mode)...))
	}
	return v
}

// quote10 is PCR 10 in the given banks after es.
func quote10(es []raw, mode Mode, banks ...eventlog.Alg) PCRs {
	q := PCRs{}
	for _, a := range banks {
		q[a] = map[uint32][]byte{10: refPCR(es, a, mode)}
	}
	return q
}

// bootPCRs makes distinct PCR 0-9 values in every bank for one "boot".
func bootPCRs(boot string) PCRs {
	q := PCRs{}
	for _, a := range eventlog.Algs {
		q[a] = map[uint32][]byte{}
		for i := uint32(0); i < 10; i++ {
			q[a][i] = a.Sum([]byte(boot + a.String() + string(rune('0'+i))))
		}
	}
	return q
}

func mustParse(t interface{ Fatal(...any) }, b []byte) []Entry {
	es, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
