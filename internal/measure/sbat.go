package measure

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SBATEntry is one line of an EFI image's .sbat section (shim's SBAT.md):
// component_name,component_generation,vendor_name,vendor_package_name,
// vendor_version,vendor_url. Shim refuses an image whose generation of a
// component is below the SbatLevel variable's.
type SBATEntry struct {
	Component  string `json:"component"`
	Generation int    `json:"generation"`
	Vendor     string `json:"vendor,omitempty"`
	Package    string `json:"package,omitempty"`
	Version    string `json:"version,omitempty"`
	URL        string `json:"url,omitempty"`
}

// maxSBAT bounds the .sbat text read: real ones are a few hundred bytes.
const maxSBAT = 64 << 10

// parseSBAT reads the .sbat section's text, which starts at base in the
// file. The text ends at the first NUL (the section is padded).
func parseSBAT(d []byte, base int64) ([]SBATEntry, error) {
	if len(d) > maxSBAT {
		return nil, formatErr(".sbat", base, "%d bytes, more than the %d read", len(d), maxSBAT)
	}
	if n := bytes.IndexByte(d, 0); n >= 0 {
		d = d[:n]
	}
	var out []SBATEntry
	off := base
	for i, line := range strings.Split(string(d), "\n") {
		lineOff := off
		off += int64(len(line)) + 1
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		e, err := sbatLine(line)
		if err != nil {
			return nil, formatErr(fmt.Sprintf(".sbat line %d", i+1), lineOff, "%v", err)
		}
		out = append(out, e)
	}
	return out, nil
}

func sbatLine(line string) (SBATEntry, error) {
	f := strings.Split(line, ",")
	if len(f) < 2 {
		return SBATEntry{}, fmt.Errorf("%q: want at least component,generation", line)
	}
	for _, c := range line {
		if c < 0x20 || c > 0x7e {
			return SBATEntry{}, fmt.Errorf("%q: not printable ASCII", line)
		}
	}
	gen, err := strconv.Atoi(f[1])
	if err != nil || gen < 1 {
		return SBATEntry{}, fmt.Errorf("generation %q of %s is not a positive number", f[1], f[0])
	}
	f = append(f, make([]string, 6)...)
	return SBATEntry{Component: f[0], Generation: gen, Vendor: f[2], Package: f[3], Version: f[4], URL: f[5]}, nil
}

// sbatLabel names an image by its SBAT entries: the first component after
// the "sbat" line with its vendor's version when a vendor entry
// (component.vendor) follows, and the component's generation:
// "grub 2.06-13+deb12u1 (SBAT grub,4)".
func sbatLabel(entries []SBATEntry) string {
	var main *SBATEntry
	for i := range entries {
		e := &entries[i]
		if main == nil && e.Component != "sbat" {
			main = e
			continue
		}
		if main != nil && strings.HasPrefix(e.Component, main.Component+".") && e.Version != "" {
			return fmt.Sprintf("%s %s (SBAT %s,%d)", main.Component, e.Version, main.Component, main.Generation)
		}
	}
	if main == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s", main.Component, main.Version)) + fmt.Sprintf(" (SBAT %s,%d)", main.Component, main.Generation)
}
