package ima

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bootproof/bootproof/internal/corpus"
	"github.com/bootproof/bootproof/internal/eventlog"
)

// TestSharedIMALogs reads real measurement lists from the team's shared
// corpus, shared/testdata/imalogs/<case>/ima.bin (with pcrs.json, in the
// event log corpus's format, where the source gives PCR 10). Every entry
// must parse and its template hash, which the kernel computed, must be
// the SHA-1 of the data as parsed; where PCR values are given the list
// must replay to them.
func TestSharedIMALogs(t *testing.T) {
	dir := filepath.Join(corpus.SharedDir(t), "testdata", "imalogs")
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "ima.bin"))
	if len(logs) == 0 {
		t.Skipf("no shared/testdata/imalogs/*/ima.bin: real IMA lists not checked")
	}
	for _, path := range logs {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) { checkRealLog(t, path) })
	}
}

// checkRealLog parses one real list and proves it.
func checkRealLog(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	es := mustParse(t, b)
	quoted := sharedPCRs(t, filepath.Join(filepath.Dir(path), "pcrs.json"))
	if quoted == nil { // the logged SHA-1 hashes folded: checks each template hash
		quoted = PCRs{eventlog.SHA1: {10: foldLogged(es)}}
	}
	if _, n, err := (State{}).Prove(es, quoted); err != nil || n != len(es) {
		t.Errorf("proved %d of %d entries: %v", n, len(es), err)
	} else {
		t.Logf("%d entries proved", len(es))
	}
}

func foldLogged(es []Entry) []byte {
	v := make([]byte, 20)
	for _, e := range es {
		d := e.TemplateHash[:]
		if e.Violation() {
			d = []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
		}
		v = eventlog.SHA1.Sum(append(v, d...))
	}
	return v
}

// sharedPCRs reads PCR 10 of each bank from pcrs.json; nil when absent.
func sharedPCRs(t *testing.T, path string) PCRs {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := PCRs{}
	for bank, vals := range m {
		a, err := eventlog.ParseAlg(bank)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[a] = map[uint32][]byte{}
		for idx, h := range vals {
			i, err1 := strconv.ParseUint(idx, 10, 32)
			v, err2 := hex.DecodeString(h)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %s %s: bad PCR", path, bank, idx)
			}
			out[a][uint32(i)] = v
		}
	}
	return out
}
