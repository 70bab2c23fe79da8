package ima

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// asciiLine is one line of ascii_runtime_measurements as the kernel prints it.
type asciiLine struct {
	pcr      uint32
	hash     [20]byte
	template string
	alg      string
	digest   []byte
	name     string
	extra    []byte // sig or buf
}

func readASCII(t *testing.T, path string) []asciiLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []asciiLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		p := strings.Split(sc.Text(), " ")
		pcr, err := strconv.ParseUint(p[0], 10, 32)
		if err != nil || len(p) < 5 {
			t.Fatalf("bad line %q", sc.Text())
		}
		l := asciiLine{pcr: uint32(pcr), template: p[2], name: p[4]}
		h, _ := hex.DecodeString(p[1])
		copy(l.hash[:], h)
		alg, d, _ := strings.Cut(p[3], ":")
		l.alg, l.digest = alg, mustHex(t, d)
		if len(p) > 5 {
			l.extra = mustHex(t, p[5])
		}
		out = append(out, l)
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// binary frames the line as binary_runtime_measurements does, keeping the
// template hash the kernel computed.
func (l asciiLine) binary() []byte {
	data := append(field(dng(l.alg, l.digest)), field(nng(l.name))...)
	data = append(data, field(l.extra)...)
	b := binary.LittleEndian.AppendUint32(nil, l.pcr)
	b = append(b, l.hash[:]...)
	return append(append(b, field([]byte(l.template))...), field(data)...)
}

// TestKeylimeLines parses entries whose template hashes a real kernel
// computed: if the template data this package hashes differed from the
// kernel's by one byte, Prove would fail with ima.template_hash.
func TestKeylimeLines(t *testing.T) {
	lines := readASCII(t, "testdata/keylime-ascii.txt")
	var log []byte
	pcr10 := make([]byte, 20)
	for _, l := range lines {
		log = append(log, l.binary()...)
		s := sha1.Sum(append(pcr10, l.hash[:]...))
		pcr10 = s[:]
	}
	es := mustParse(t, log)
	if len(es) != len(lines) {
		t.Fatalf("parsed %d entries, want %d", len(es), len(lines))
	}
	for i, l := range lines {
		e := es[i]
		extra := e.Signature
		if l.template == "ima-buf" {
			extra = e.Buffer
		}
		if e.Template != l.template || e.DigestAlg != l.alg || !bytes.Equal(e.Digest, l.digest) ||
			e.Path != l.name || !bytes.Equal(extra, l.extra) {
			t.Errorf("entry %d: got %s %s:%x %s %x, want the line's %s %s:%x %s %x", i, e.Template,
				e.DigestAlg, e.Digest, e.Path, extra, l.template, l.alg, l.digest, l.name, l.extra)
		}
	}
	st, n, err := State{}.Prove(es, PCRs{eventlog.SHA1: {10: pcr10}})
	if err != nil || n != len(es) || st.Next != uint64(len(es)) {
		t.Fatalf("Prove = %d entries, next %d, %v; want all %d proven", n, st.Next, err, len(es))
	}
}
