package gate

import (
	"os"
	"testing"
)

// FuzzParseFile: gate.yaml is written by hand; no input may panic.
func FuzzParseFile(f *testing.F) {
	b, _ := os.ReadFile("testdata/gate.yaml")
	f.Add(b)
	f.Add([]byte("fail_open: true\n---\n"))
	f.Add([]byte("timeout: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = ParseFile(in) // Config reads files named in it: not fuzzed
	})
}

// FuzzParseDomainXML: the domain XML comes from libvirt's stdin.
func FuzzParseDomainXML(f *testing.F) {
	b, _ := os.ReadFile("testdata/domain.xml")
	f.Add(b)
	f.Add([]byte("<domain><name>&amp;</name></domain>"))
	f.Add([]byte("<!DOCTYPE domain [<!ENTITY a 'aaaa'>]><domain><name>&a;</name></domain>"))
	f.Fuzz(func(t *testing.T, in []byte) { _, _ = ParseDomainXML(in) })
}

// FuzzParseHookArgs: arguments come from whatever runs the hook.
func FuzzParseHookArgs(f *testing.F) {
	f.Add("web-01", "start", "begin", "-")
	f.Add("", "migrate", "begin", "")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		call, err := ParseHookArgs([]string{a, b, c, d})
		if err != nil {
			t.Fatalf("four arguments refused: %v", err)
		}
		if call.Gated() && c != "begin" {
			t.Fatalf("gated with sub-operation %q", c)
		}
	})
}
