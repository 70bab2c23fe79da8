package emuhost

import (
	"fmt"
	"slices"

	"github.com/bootproof/bootproof/internal/bundle"
)

// Versions of the emulated software, modelled on ESXi 6.7 Update 3.
const (
	FirmwareName    = "EmuFirmware"
	FirmwareVersion = "2.7.1"
	LoaderName      = "vmkboot"
	LoaderVersion   = "6.7.0-3.73"
	KernelName      = "vmkernel"
	KernelVersion   = "6.7.0-3.73"
	OldKernelVer    = "6.7.0-1.28"
)

// loaderPath is where the firmware finds the boot loader (the removable
// media path of UEFI 2.10 §3.5.1.1).
const loaderPath = `\EFI\BOOT\BOOTX64.EFI`

// host is what is installed on an emulated host: its firmware, boot loader,
// kernel and bundles, with the bytes of every bundle payload.
type host struct {
	firmware, loader, kernel *image
	bundles                  []installedBundle
	// dbx lists the SHA-256 of images the platform vendor revoked.
	dbx [][]byte
}

type installedBundle struct {
	name     string
	file     []byte            // the signed bundle file
	payloads map[string][]byte // payload name -> bytes on disk
}

type bundleSpec struct {
	name, version string
	acceptance    bundle.Acceptance
	payloads      []string
	rogue         bool // signed by the rogue signer
}

// baseBundles are installed on every host.
var baseBundles = []bundleSpec{
	{name: "esx-base", version: "6.7.0-3.73", acceptance: bundle.Certified, payloads: []string{"s.v00", "vim.v00", "sb.v00"}},
	{name: "net-ixgben", version: "1.7.17-1", acceptance: bundle.Accepted, payloads: []string{"ixgben.v00"}},
	{name: "tools-light", version: "11.0.1-1", acceptance: bundle.Certified, payloads: []string{"tools.t00"}},
}

var (
	communityBundle = bundleSpec{name: "nvme-community", version: "0.9.1", acceptance: bundle.Community, payloads: []string{"nvme-com.v00"}}
	// rogueBundle claims a partner level it has no signature for.
	rogueBundle = bundleSpec{name: "net-backdoor", version: "1.0.0", acceptance: bundle.Partner, payloads: []string{"backdoor.v00"}, rogue: true}
)

// newHost builds the installed software of a profile. Everything is
// deterministic given the vendors.
func newHost(p Profile, v *Vendors) (*host, error) {
	var h host
	var err error
	if h.firmware, err = newImage("firmware", "firmware", FirmwareName, FirmwareVersion, 64<<10, nil); err != nil {
		return nil, err
	}
	loaderContent, loaderSigner := "boot loader", v.DB.Signer
	if p == RogueBootloader {
		// A bootkit with the genuine loader's name and version, signed by
		// its author.
		loaderContent, loaderSigner = "bootkit", v.Rogue.Signer
	}
	if h.loader, err = newImage("boot loader", loaderContent, LoaderName, LoaderVersion, 16<<10, loaderSigner); err != nil {
		return nil, err
	}
	kver := KernelVersion
	if p == OldKernel {
		kver = OldKernelVer
	}
	if h.kernel, err = newImage("kernel", "kernel", KernelName, kver, 32<<10, v.OS.Signer); err != nil {
		return nil, err
	}
	if p == TamperedKernel {
		// Patch one byte after signing, as a rootkit patches a kernel.
		h.kernel.body = slices.Clone(h.kernel.body)
		h.kernel.body[len(h.kernel.body)/2] ^= 0x90
	}
	// The platform vendor revoked an old boot loader (as dbx revokes
	// vulnerable shims); the current one is not affected.
	revoked := imageBytes("boot loader", LoaderName, "6.5.0-0.0", 16<<10)
	h.dbx = [][]byte{sha256Of(revoked)}

	specs := slices.Clone(baseBundles)
	switch p {
	case CommunityBundle:
		specs = append(specs, communityBundle)
	case UnsignedBundle:
		specs = append(specs, rogueBundle)
	}
	for _, s := range specs {
		b, err := makeBundle(s, v)
		if err != nil {
			return nil, err
		}
		h.bundles = append(h.bundles, b)
	}
	return &h, nil
}

func makeBundle(s bundleSpec, v *Vendors) (installedBundle, error) {
	vendor, signer := OSVendor, v.OS.Signer
	if s.rogue {
		vendor, signer = RogueVendor, v.Rogue.Signer
	}
	ib := installedBundle{name: s.name, payloads: map[string][]byte{}}
	d := bundle.Descriptor{Name: s.name, Version: s.version, Vendor: vendor, Acceptance: s.acceptance}
	for _, pn := range s.payloads {
		data := imageBytes("module", s.name+"/"+pn, s.version, 8<<10)
		ib.payloads[pn] = data
		d.Payloads = append(d.Payloads, bundle.NewPayload(pn, data))
	}
	f, err := bundle.Sign(d, signer)
	if err != nil {
		return installedBundle{}, fmt.Errorf("install bundle %s: %w", s.name, err)
	}
	ib.file = f
	return ib, nil
}
