package gate

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGated: the gate decides exactly the calls that put a workload on this
// host and leaves every other libvirt qemu operation alone.
func TestGated(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"web-01", "prepare", "begin", "-"}, true},
		{[]string{"web-01", "start", "begin", "-"}, true},
		{[]string{"web-01", "migrate", "begin", "-"}, true},
		{[]string{"web-01", "started", "begin", "-"}, false},
		{[]string{"web-01", "stopped", "end", "-"}, false},
		{[]string{"web-01", "release", "end", "shutdown"}, false},
		{[]string{"web-01", "restore", "begin", "-"}, false},
		{[]string{"web-01", "reconnect", "begin", "-"}, false},
		{[]string{"web-01", "attach", "begin", "-"}, false},
		{[]string{"web-01", "start", "end", "-"}, false},
		{[]string{"web-01", "start"}, false},
	}
	for _, tt := range tests {
		c, err := ParseHookArgs(tt.args)
		if err != nil {
			t.Fatalf("ParseHookArgs(%q): %v", tt.args, err)
		}
		if got := c.Gated(); got != tt.want {
			t.Errorf("Gated(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
	if _, err := ParseHookArgs([]string{"web-01"}); err == nil {
		t.Error("ParseHookArgs with one argument: no error")
	}
}

func TestParseDomainXML(t *testing.T) {
	b, err := os.ReadFile("testdata/domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDomainXML(b)
	if err != nil || d.Name != "web-01" || d.UUID != "4dea22b3-1d52-d8f3-2516-782e98ab3fa0" {
		t.Fatalf("ParseDomainXML = %+v, %v", d, err)
	}
	for _, bad := range []string{"", "<network/>", "<domain><name>x</domain>"} {
		if _, err := ParseDomainXML([]byte(bad)); err == nil {
			t.Errorf("ParseDomainXML(%q): no error", bad)
		}
	}
}

// TestHook: a gated call on a denied host exits 1 with the guest and the
// reason on stderr; an ungated call exits 0 without asking the verifier.
func TestHook(t *testing.T) {
	xml, _ := os.ReadFile("testdata/domain.xml")
	v := newStandIn(t)
	g, _ := newTestGate(t, v, nil)
	tests := []struct {
		name     string
		args     []string
		allow    bool
		wantCode int
		wantErr  string
	}{
		{"start on a passed host", []string{"web-01", "start", "begin", "-"}, true, 0, ""},
		{"start on a failed host", []string{"web-01", "start", "begin", "-"}, false, 1,
			"refused to start guest web-01 (4dea22b3-1d52-d8f3-2516-782e98ab3fa0) on host hv-01: stand-in says Failed"},
		{"incoming migration to a failed host", []string{"web-01", "migrate", "begin", "-"}, false, 1,
			"refused to accept the incoming migration of guest web-01"},
		{"stop on a failed host", []string{"web-01", "stopped", "end", "-"}, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.allow.Store(tt.allow)
			v.status.Store(map[bool]string{true: "Passed", false: "Failed"}[tt.allow])
			before := v.calls.Load()
			call, _ := ParseHookArgs(tt.args)
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if code := g.Hook(ctx, call, xml, &stderr); code != tt.wantCode {
				t.Fatalf("Hook exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErr)
			}
			if !call.Gated() && v.calls.Load() != before {
				t.Error("an ungated operation asked the verifier")
			}
		})
	}
}
