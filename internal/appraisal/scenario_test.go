package appraisal

// A Linux-style test boot (firmware, shim/GRUB-like loader, kernel, initrd,
// command line, Secure Boot variables) and the evidence an agent sends for it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/bootproof/bootproof/internal/wire"
)

const (
	globalVariable = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
	imageSecurity  = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"
	certSHA256GUID = "c1c41626-504c-4092-aca9-41f936934328"
)

var (
	testNonce     = []byte("verifier nonce 0123456789abcdef")
	testNow       = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	loaderImage   = []byte("test boot loader image 1.0")
	kernelImage   = []byte("test kernel image 6.7.0-8169922")
	otherKernel   = []byte("test kernel image 6.6.6-rootkit")
	initrdImage   = []byte("test initrd 6.7.0-8169922")
	kernelCmdline = "kernel_cmdline: /boot/vmlinuz-6.7.0 root=/dev/sda1 ro"
	revokedHash   = sha256.Sum256([]byte("a revoked shim"))
)

func readCert(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utf16z(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return append(out, 0, 0)
}

// imageLoadEvent is a UEFI_IMAGE_LOAD_EVENT with a one-node file path.
func imageLoadEvent(path string) []byte {
	p := utf16z(path)
	dp := []byte{4, 4}
	dp = binary.LittleEndian.AppendUint16(dp, uint16(4+len(p)))
	dp = append(dp, p...)
	dp = append(dp, 0x7f, 0xff, 4, 0)
	out := binary.LittleEndian.AppendUint64(nil, 0x1000)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(loaderImage)))
	out = binary.LittleEndian.AppendUint64(out, 0)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(dp)))
	return append(out, dp...)
}

// sha256List is an EFI_SIGNATURE_LIST of EFI_CERT_SHA256 entries.
func sha256List(hashes ...[]byte) []byte {
	g := uefi.MustParseGUID(certSHA256GUID)
	out := append([]byte(nil), g[:]...)
	out = binary.LittleEndian.AppendUint32(out, uint32(28+48*len(hashes)))
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = binary.LittleEndian.AppendUint32(out, 48)
	for _, h := range hashes {
		out = append(out, make([]byte, 16)...)
		out = append(out, h...)
	}
	return out
}

func sbVar(name string, data []byte) []byte {
	guid := globalVariable
	if name == "db" || name == "dbx" {
		guid = imageSecurity
	}
	return uefi.EncodeVariableData(guid, name, data)
}

var separator = []byte{0, 0, 0, 0}

// bootOpts varies the standard boot.
type bootOpts struct {
	secureBoot bool
	kernel     []byte
	// sbLie logs SecureBoot=1 while the TPM measured SecureBoot=0.
	sbLie bool
	// initrd, when set, replaces the standard initramfs.
	initrd []byte
	extra  []measurement
}

// standardBoot is what a Linux host with Secure Boot measures.
func standardBoot(t testing.TB, o bootOpts) []measurement {
	sb := []byte{0}
	if o.secureBoot {
		sb = []byte{1}
	}
	kernel := o.kernel
	if kernel == nil {
		kernel = kernelImage
	}
	initrd := o.initrd
	if initrd == nil {
		initrd = initrdImage
	}
	sbEvent := measurement{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("SecureBoot", sb)}
	if o.sbLie {
		sbEvent = measurement{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("SecureBoot", []byte{1}), measured: sbVar("SecureBoot", []byte{0})}
	}
	ms := []measurement{
		{pcr: 0, typ: eventlog.EvSCRTMVersion, data: utf16z("TestFirmware 2.7.1")},
		{pcr: 0, typ: eventlog.EvEFIPlatformFirmwareBlob, data: make([]byte, 16), measured: []byte("firmware volume 1")},
		sbEvent,
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("PK", uefi.EncodeSignatureList(readCert(t, "pk.der")))},
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("KEK", uefi.EncodeSignatureList(readCert(t, "kek.der")))},
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("db", uefi.EncodeSignatureList(readCert(t, "db.der")))},
		{pcr: 7, typ: eventlog.EvEFIVariableDriverConfig, data: sbVar("dbx", sha256List(revokedHash[:]))},
	}
	for pcr := 0; pcr <= 7; pcr++ {
		ms = append(ms, measurement{pcr: pcr, typ: eventlog.EvSeparator, data: separator})
	}
	ms = append(ms,
		measurement{pcr: 4, typ: eventlog.EvEFIBootServicesApplication, data: imageLoadEvent(`\EFI\BOOT\BOOTX64.EFI`), measured: loaderImage},
		measurement{pcr: 8, typ: eventlog.EvIPL, data: []byte(kernelCmdline + "\x00"), measured: []byte(kernelCmdline[len("kernel_cmdline: "):])},
		measurement{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/vmlinuz-6.7.0\x00"), measured: kernel},
		measurement{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/initrd.img-6.7.0\x00"), measured: initrd},
	)
	return append(ms, o.extra...)
}

// testBanks are the banks the standard log declares.
var testBanks = []eventlog.Alg{eventlog.SHA1, eventlog.SHA256}

// evidence is what an honest agent sends: one quote per declared bank over
// the given PCRs (0-9 when nil), by the enrolled AK, over the nonce.
func (h *simHost) evidence(pcrs []int) *wire.Evidence {
	if pcrs == nil {
		pcrs = pcrRange(0, 9)
	}
	ev := &wire.Evidence{Nonce: testNonce, TPMFamily: wire.FamilyTPM20, EventLog: h.log}
	for _, b := range h.banks {
		ev.Quotes = append(ev.Quotes, h.quote(akECC, b, pcrs, testNonce))
	}
	return ev
}

// goldenPolicy is the policy learned from the standard Secure Boot host.
func goldenPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	h := boot(t, testBanks, standardBoot(t, bootOpts{secureBoot: true}))
	v, err := Appraise(Input{Evidence: h.evidence(nil), AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: policy.Default(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != Passed {
		t.Fatalf("golden host: %s: %+v", v.Status, v.Failures())
	}
	return policy.Learn(v.Components, nil)
}

// detRand is a deterministic byte stream for keys in tests.
type detRand struct{ state [32]byte }

func (r *detRand) Read(p []byte) (int, error) {
	for i := range p {
		if i%32 == 0 {
			r.state = sha256.Sum256(r.state[:])
		}
		p[i] = r.state[i%32]
	}
	return len(p), nil
}

// vendorKeys makes a bundle vendor's keys deterministically.
func vendorKeys(t testing.TB, vendor string) *bundle.Keys {
	t.Helper()
	r := &detRand{}
	copy(r.state[:], vendor)
	k, err := bundle.Keygen(bundle.KeygenOptions{Vendor: vendor, NotBefore: testNow.Add(-24 * time.Hour), Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signBundle makes a bundle file.
func signBundle(t testing.TB, k *bundle.Keys, name string, acc bundle.Acceptance, payloads map[string][]byte) []byte {
	t.Helper()
	d := bundle.Descriptor{Name: name, Version: "1.0", Vendor: k.Root.Subject.Organization[0], Acceptance: acc}
	for _, n := range slices.Sorted(maps.Keys(payloads)) {
		d.Payloads = append(d.Payloads, bundle.NewPayload(n, payloads[n]))
	}
	f, err := bundle.Sign(d, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func rootPEM(k *bundle.Keys) string { return string(bundle.CertsPEM(k.Root)) }

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[0] ^= 0xff
	return c
}
