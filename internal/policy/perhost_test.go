package policy

import (
	"strings"
	"testing"
)

// TestPerHostValidate: per_host names known classes, each once, and the
// error names the entry at fault.
func TestPerHostValidate(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"initrd pinned per host", "per_host: [initrd]\nreferences_required: true\n", ""},
		{"several classes", "per_host: [initrd, boot_options, boot_config]\n", ""},
		{"unknown class", "per_host: [initramfs]\n", `per_host[0]: "initramfs" is not a component class`},
		{"listed twice", "per_host: [initrd, kernel, initrd]\n", `per_host[2]: "initrd" listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestPerHostParseClone: per_host and references_required are read
// (TestMarshalRoundTrip writes them back), and a clone does not share the
// list.
func TestPerHostParseClone(t *testing.T) {
	p, err := Parse(readTestdata(t, "perhost.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.ReferencesRequired || !p.IsPerHost(ClassInitrd) || p.IsPerHost(ClassKernel) {
		t.Fatalf("references_required %v, per_host %v", p.ReferencesRequired, p.PerHost)
	}
	c := p.Clone()
	c.PerHost[0] = ClassKernel
	if !p.IsPerHost(ClassInitrd) {
		t.Fatal("Clone shares per_host with the original")
	}
}
