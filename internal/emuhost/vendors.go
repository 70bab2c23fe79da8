package emuhost

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/bootproof/bootproof/internal/bundle"
)

// Vendors are the signing identities of the emulated world: the platform
// vendor (PK, KEK and the db certificate that authorises boot loaders), the
// OS vendor (whose root the boot loader carries, and who signs kernels and
// bundles), and a rogue signer whose self-made keys nobody trusts.
type Vendors struct {
	// PK and KEK are the platform vendor's Secure Boot owner keys; only their
	// certificates are used (logged in PCR 7).
	PK, KEK *bundle.Keys
	// DB's root certificate is the db entry; its signer signs boot loaders.
	DB *bundle.Keys
	// OS is the OS vendor: the boot loader carries OS.Root; OS.Signer signs
	// kernels and bundles. Verifiers trust OS.Root for bundles.
	OS *bundle.Keys
	// Rogue signs what an attacker brings: a boot loader, a bundle.
	Rogue *bundle.Keys
}

// Vendor names as they appear in certificates and descriptors.
const (
	PlatformVendor = "Emulated Platform Inc"
	OSVendor       = "Emulated OS Vendor"
	RogueVendor    = "Rogue Signer"
)

// vendorEpoch starts every emulated certificate's validity (vSphere 6.7's
// release); they last 40 years, so runs today and in tests agree.
var vendorEpoch = time.Date(2018, 4, 17, 0, 0, 0, 0, time.UTC)

const vendorValidity = 40 * 365 * 24 * time.Hour

type vendorSpec struct {
	dir, name string
	field     func(*Vendors) **bundle.Keys
}

var vendorSpecs = []vendorSpec{
	{"pk", PlatformVendor + " PK", func(v *Vendors) **bundle.Keys { return &v.PK }},
	{"kek", PlatformVendor + " KEK", func(v *Vendors) **bundle.Keys { return &v.KEK }},
	{"db", PlatformVendor + " UEFI", func(v *Vendors) **bundle.Keys { return &v.DB }},
	{"os", OSVendor, func(v *Vendors) **bundle.Keys { return &v.OS }},
	{"rogue", RogueVendor, func(v *Vendors) **bundle.Keys { return &v.Rogue }},
}

// DefaultVendors returns identities derived from fixed seeds: the same on
// every machine and every run. They are public by construction, which is
// fine for an emulator and wrong for anything else.
func DefaultVendors() (*Vendors, error) {
	v := &Vendors{}
	for _, s := range vendorSpecs {
		k, err := bundle.Keygen(bundle.KeygenOptions{Vendor: s.name, NotBefore: vendorEpoch, Validity: vendorValidity, Rand: seededRand("vendor " + s.dir)})
		if err != nil {
			return nil, fmt.Errorf("default vendors: %w", err)
		}
		*s.field(v) = k
	}
	return v, nil
}

// LoadOrCreateVendors reads the vendors' keys from dir, one subdirectory
// per identity (pk, kek, db, os, rogue, each with bundle's root.pem,
// root.key, signing.pem, signing.key), creating with fresh randomness and
// saving any that are missing. An empty dir means DefaultVendors.
func LoadOrCreateVendors(dir string) (*Vendors, error) {
	if dir == "" {
		return DefaultVendors()
	}
	v := &Vendors{}
	for _, s := range vendorSpecs {
		sub := filepath.Join(dir, s.dir)
		k, err := loadKeys(sub)
		if errors.Is(err, fs.ErrNotExist) {
			k, err = bundle.Keygen(bundle.KeygenOptions{Vendor: s.name, NotBefore: vendorEpoch, Validity: vendorValidity})
			if err == nil {
				err = saveKeys(sub, k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("vendor %s in %s: %w", s.dir, dir, err)
		}
		*s.field(v) = k
	}
	return v, nil
}

func loadKeys(dir string) (*bundle.Keys, error) {
	files := map[string][]byte{}
	for _, name := range []string{bundle.RootCertFile, bundle.RootKeyFile, bundle.SigningCertFile, bundle.SigningKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return bundle.LoadKeys(files)
}

func saveKeys(dir string, k *bundle.Keys) error {
	files, err := k.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// TrustedBundleRoots are the roots a verifier should trust for the bundles
// of emulated hosts: the OS vendor's root.
func (v *Vendors) TrustedBundleRoots() []*x509.Certificate { return []*x509.Certificate{v.OS.Root} }

// seededRand is a deterministic byte stream named by label.
func seededRand(label string) *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], "bootproof emuhost v1: "+label)
	return rand.NewChaCha8(seed)
}

// HostSeed is the TPM simulator seed of the emulated host named hostName:
// the same name gives the same seed, so the same EK, across runs.
func HostSeed(hostName string) int64 {
	s := sha256.Sum256([]byte("bootproof emuhost tpm seed\x00" + hostName))
	return int64(binary.BigEndian.Uint64(s[:8]) &^ (1 << 63))
}
