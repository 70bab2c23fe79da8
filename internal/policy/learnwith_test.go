package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLearnWith(t *testing.T) {
	newKernel := Component{Class: ClassKernel, Name: "/vmlinuz-6.12", Digests: map[string]string{"sha256": hexOf('c', 32)}}
	loader := Component{Class: ClassBootloader, Name: "grubx64.efi", Digests: map[string]string{"sha256": hexOf('b', 32)}}
	boot := Components{loader, newKernel}
	at := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	earlier := at.Add(-24 * time.Hour)
	base := func() *Policy {
		p := Default()
		p.References.Kernel = []Reference{{SHA256: hexOf('e', 32), Label: "old kernel"}}
		p.References.Bootloader = []Reference{{SHA256: hexOf('b', 32), Label: "grub", Expires: earlier}}
		p.References.Firmware = []Reference{{SHA256: hexOf('f', 32), Label: "firmware"}}
		return p
	}
	tests := []struct {
		name string
		opts LearnOptions
		want References
	}{
		{"adds and keeps; a matched reference loses its expiry", LearnOptions{}, References{
			Firmware:   []Reference{{SHA256: hexOf('f', 32), Label: "firmware"}},
			Bootloader: []Reference{{SHA256: hexOf('b', 32), Label: "grub"}},
			Kernel:     []Reference{{SHA256: hexOf('e', 32), Label: "old kernel"}, {SHA256: hexOf('c', 32), Label: "/vmlinuz-6.12"}},
		}},
		{"replace kernel drops the old kernel only", LearnOptions{Replace: []string{ClassKernel}}, References{
			Firmware:   []Reference{{SHA256: hexOf('f', 32), Label: "firmware"}},
			Bootloader: []Reference{{SHA256: hexOf('b', 32), Label: "grub"}},
			Kernel:     []Reference{{SHA256: hexOf('c', 32), Label: "/vmlinuz-6.12"}},
		}},
		{"expire gives the superseded kernel an expiry, not the unmeasured firmware class", LearnOptions{ExpireAt: at}, References{
			Firmware:   []Reference{{SHA256: hexOf('f', 32), Label: "firmware"}},
			Bootloader: []Reference{{SHA256: hexOf('b', 32), Label: "grub"}},
			Kernel:     []Reference{{SHA256: hexOf('e', 32), Label: "old kernel", Expires: at}, {SHA256: hexOf('c', 32), Label: "/vmlinuz-6.12"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			got, err := LearnWith(boot, b, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.References); diff != "" {
				t.Errorf("references (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(base(), b); diff != "" {
				t.Errorf("base changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLearnWithKeepsEarlierExpiry(t *testing.T) {
	at := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	earlier := at.Add(-time.Hour)
	base := Default()
	base.References.Kernel = []Reference{{SHA256: hexOf('e', 32), Label: "old", Expires: earlier}}
	got, err := LearnWith(Components{{Class: ClassKernel, Name: "new", Digests: map[string]string{"sha256": hexOf('c', 32)}}}, base, LearnOptions{ExpireAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if e := got.References.Kernel[0].Expires; !e.Equal(earlier) {
		t.Errorf("old kernel expires %v, want the earlier %v kept", e, earlier)
	}
}

func TestLearnWithUnknownClass(t *testing.T) {
	_, err := LearnWith(nil, Default(), LearnOptions{Replace: []string{"kernels"}})
	if err == nil || !strings.Contains(err.Error(), `"kernels" is not a component class`) {
		t.Fatalf("err = %v, want one naming the class", err)
	}
}

func TestMatchAt(t *testing.T) {
	at := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	comp := Component{Class: ClassKernel, Digests: map[string]string{"sha256": hexOf('c', 32)}}
	lapsed := Reference{SHA256: hexOf('c', 32), Label: "old", Expires: at}
	current := Reference{SHA256: hexOf('c', 32), Label: "current"}
	tests := []struct {
		name       string
		refs       []Reference
		now        time.Time
		wantOK     bool
		wantLabel  string
		wantLapsed bool
	}{
		{"before its expiry it matches", []Reference{lapsed}, at.Add(-time.Second), true, "old", false},
		{"at its expiry it no longer does", []Reference{lapsed}, at, false, "", true},
		{"a current reference of the same digest matches", []Reference{lapsed, current}, at, true, "current", false},
		{"no expiry never lapses", []Reference{current}, at.Add(1000 * time.Hour), true, "current", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			p.References.Kernel = tt.refs
			ref, ok, gotLapsed := p.MatchAt(comp, tt.now)
			if ok != tt.wantOK || ref.Label != tt.wantLabel || (gotLapsed != nil) != tt.wantLapsed {
				t.Errorf("MatchAt = %q, %v, lapsed %v; want %q, %v, lapsed %v", ref.Label, ok, gotLapsed, tt.wantLabel, tt.wantOK, tt.wantLapsed)
			}
		})
	}
}

func TestExpiresRoundTrip(t *testing.T) {
	p := Default()
	at := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	p.References.Kernel = []Reference{{SHA256: hexOf('c', 32), Label: "old", Expires: at}, {SHA256: hexOf('d', 32)}}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "expires: 2026-12-15T00:00:00Z") || strings.Count(string(b), "expires:") != 1 {
		t.Errorf("marshalled policy:\n%s\nwant one expires: 2026-12-15T00:00:00Z", b)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.References, q.References); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
