package cli

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/measure"
)

// Debian's signed shim, as shim-signed installs it.
const debianShim = "/usr/lib/shim/shimx64.efi.signed"

// readDebianShim reads Debian's shim, or skips the test where it is not
// installed.
func readDebianShim(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(debianShim)
	if err != nil {
		t.Skipf("Debian's shim is not here (apt-get install shim-signed): %v", err)
	}
	return b
}

// testKernel writes a Linux kernel without an EFI stub: a boot header
// whose kernel_version points at version.
func testKernel(t *testing.T, dir, version string) string {
	t.Helper()
	b := make([]byte, 0x800)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x20f)
	binary.LittleEndian.PutUint16(b[0x20e:], 0x400)
	copy(b[0x600:], version+"\x00")
	return writeTestFile(t, filepath.Join(dir, "vmlinuz-test"), b)
}

// TestMeasureCommand: 'bootproof measure' prints a file's kind, label and
// digests per measurement (golden), --json decodes into measure.Result as
// the package computes it, and a damaged EFI image is an error naming the
// file and the offset.
func TestMeasureCommand(t *testing.T) {
	dir := t.TempDir()
	kernel := testKernel(t, dir, "6.1.0-99-test (builder@example.org) #1 SMP")
	cfg := writeTestFile(t, filepath.Join(dir, "grub.cfg"), []byte("set timeout=0\nlinux /vmlinuz root=UUID=1234 ro\n"))
	for _, c := range []struct{ file, golden string }{{kernel, "kernel.golden"}, {cfg, "grub-cfg.golden"}} {
		golden(t, filepath.Join("testdata", "measure", c.golden), mustRun(t, "measure", c.file))
	}
	t.Run("json", func(t *testing.T) {
		b := readDebianShim(t)
		want, err := measure.File(b)
		if err != nil {
			t.Fatal(err)
		}
		var got measure.Result
		if err := json.Unmarshal([]byte(mustRun(t, "measure", "--json", debianShim)), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("measure --json:\n%+v\nwant\n%+v", got, *want)
		}
		if m, ok := got.Measurement(measure.PCRImages); !ok || got.Kind != measure.KindEFIImage || m.Digests.SHA256 == "" {
			t.Errorf("measure --json: kind %s, PCR 4 %+v; want an EFI image with its Authenticode digest", got.Kind, m)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		b := readDebianShim(t)
		cut := writeTestFile(t, filepath.Join(dir, "cut.efi"), b[:3000])
		code, out, errs := runBootproof(t, "measure", cut)
		if code != 1 || out != "" || !strings.Contains(errs, cut) || !strings.Contains(errs, "at offset 0x") {
			t.Errorf("measure of a cut EFI image: exit %d, out %q, err %q; want exit 1 naming the file and the offset", code, out, errs)
		}
	})
}
