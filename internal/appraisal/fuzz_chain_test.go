package appraisal

import (
	"crypto/sha256"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
)

// FuzzBootChainLog runs everything that reads a whole log's proven events
// for names and order (the boot chain's classes, the authorities paired
// with images, the data-vs-digest rules, the Secure Boot state) on logs
// made of arbitrary bytes, every event taken as proven in every bank: none
// may panic, and every component name stays bounded UTF-8.
func FuzzBootChainLog(f *testing.F) {
	f.Add(seedChainLog(f))
	f.Fuzz(func(t *testing.T, raw []byte) {
		log, err := eventlog.Parse(raw)
		if err != nil {
			return
		}
		all := func(int) []eventlog.Alg { return log.Banks }
		lying := map[int]bool{}
		bad, _ := findMismatches(log, all)
		for _, m := range bad {
			lying[m.event.Index] = true
		}
		var auths []uefi.Authority
		if sb, err := ProvenSecureBoot(log.Events, eventlog.SHA256, log.Banks); err == nil && sb != nil {
			auths = sb.Authorities
		}
		for _, c := range extractComponents(log.Events, all, lying, auths) {
			if len(c.Name) > maxNameLen+len("…")+len(" (EFI image)") {
				t.Fatalf("name of %d bytes: %q", len(c.Name), c.Name)
			}
		}
	})
}

// seedChainLog is a small shim+GRUB-like log: the boot option's action,
// two images, an authority, GRUB's linux command and command line.
func seedChainLog(tb testing.TB) []byte {
	w := eventlog.NewWriter([]eventlog.Alg{eventlog.SHA256})
	add := func(pcr int, typ eventlog.EventType, data []byte) {
		sum := sha256.Sum256(data)
		if err := w.Append(pcr, typ, []eventlog.Digest{{Alg: eventlog.SHA256, Value: sum[:]}}, data); err != nil {
			tb.Fatal(err)
		}
	}
	add(4, eventlog.EvEFIAction, []byte("Calling EFI Application from Boot Option"))
	add(7, eventlog.EvSeparator, []byte{0, 0, 0, 0})
	add(4, eventlog.EvSeparator, []byte{0, 0, 0, 0})
	add(4, eventlog.EvEFIBootServicesApplication, imageLoadEvent(`\EFI\debian\shimx64.efi`))
	add(4, eventlog.EvEFIBootServicesApplication, imageLoadEvent(`\EFI\debian\grubx64.efi`))
	add(8, eventlog.EvIPL, []byte("grub_cmd: linux /boot/vmlinuz-6.1.0 root=/dev/sda1 ro"))
	add(9, eventlog.EvIPL, []byte("/boot/vmlinuz-6.1.0"))
	add(8, eventlog.EvIPL, []byte(kernelCmdline))
	add(4, eventlog.EvEFIBootServicesApplication, imageLoadEvent(""))
	return w.Bytes()
}

// TestSeedChainLog keeps the fuzz seed meaningful: it parses, and its last
// image (after GRUB's linux command) is the kernel.
func TestSeedChainLog(t *testing.T) {
	log, err := eventlog.Parse(seedChainLog(t))
	if err != nil {
		t.Fatalf("the seed does not parse: %v", err)
	}
	all := func(int) []eventlog.Alg { return log.Banks }
	kernels := 0
	for _, c := range extractComponents(log.Events, all, nil, nil) {
		if c.Class == policy.ClassKernel && c.PCR == 4 {
			kernels++
		}
	}
	if kernels != 1 {
		t.Errorf("the seed's PCR 4 kernels: %d, want the one image after GRUB's linux command", kernels)
	}
}
