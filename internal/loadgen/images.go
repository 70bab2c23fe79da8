package loadgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
)

// Image is what one emulated boot of a profile left behind, shared by every
// simulated host of that profile: the event log and bundle inventory an
// agent sends, and the PCR values the boot put in the TPM, per bank.
type Image struct {
	Profile  emuhost.Profile
	EventLog []byte
	Bundles  [][]byte
	Banks    []BankValues
	// quoted is what one quote over every bank carries, computed once.
	quoted quoteTemplate
	// eventLogSHA256 is the hex SHA-256 of EventLog; bundlesSHA256 those
	// of Bundles, in order.
	eventLogSHA256 string
	bundlesSHA256  []string
	// parts are the evidence's repeating parts as JSON (evidence.go).
	parts evidenceParts
	// Expect is the verdict a host of this profile must earn from a
	// verifier whose policy trusts the emulated vendors.
	Expect string
}

// BankValues are one bank's 24 PCRs.
type BankValues struct {
	Alg  eventlog.Alg
	PCRs map[int][]byte
}

// quoteTemplate is what a TPM2_Quote over every PCR of every bank of an
// image carries: pcrSelect (banks in the TPM's order, PCRs ascending), the
// pcrDigest (the AK's scheme hash, SHA-256, over the values in that order)
// and the values the agent sends beside it.
type quoteTemplate struct {
	selection tpm2.TPMLPCRSelection
	digest    []byte
	pcrs      map[string]map[int][]byte
}

// expectedVerdict is what each profile earns with the default policy plus
// the emulated OS vendor's bundle root (no reference values learnt).
var expectedVerdict = map[emuhost.Profile]string{
	emuhost.Good:            "Passed",
	emuhost.OldKernel:       "Passed",
	emuhost.SecureBootOff:   "Failed",
	emuhost.TamperedKernel:  "Failed",
	emuhost.RogueBootloader: "Failed",
	emuhost.UnsignedBundle:  "Failed",
	emuhost.CommunityBundle: "Failed",
}

// BootImages boots each profile once on the TCG reference TPM (one
// simulator at a time, seeded per profile) and keeps the log, the bundles
// and the PCRs of every bank Go can hash. It checks that replaying the log
// gives the PCRs the TPM holds, so a generator bug cannot pass for a
// verifier one.
func BootImages(profiles []emuhost.Profile) (map[emuhost.Profile]*Image, error) {
	out := make(map[emuhost.Profile]*Image, len(profiles))
	for i, p := range profiles {
		if _, dup := out[p]; dup {
			continue
		}
		exp, ok := expectedVerdict[p]
		if !ok {
			return nil, fmt.Errorf("boot images: profile %q has no TPM 2.0 or no known verdict; use one of good, old-kernel, secureboot-off, tampered-kernel, rogue-bootloader, unsigned-bundle, community-bundle", p)
		}
		im, err := bootImage(p, int64(0x10ad0000+i))
		if err != nil {
			return nil, err
		}
		im.Expect = exp
		out[p] = im
	}
	return out, nil
}

func bootImage(p emuhost.Profile, seed int64) (*Image, error) {
	dev, err := tpm.OpenSimulator(seed)
	if err != nil {
		return nil, fmt.Errorf("boot image %s: %w", p, err)
	}
	defer dev.Close()
	res, err := emuhost.Boot(dev, emuhost.BootConfig{Profile: p})
	if err != nil {
		return nil, fmt.Errorf("boot image %s: %w", p, err)
	}
	log, err := eventlog.Parse(res.EventLog)
	if err != nil {
		return nil, fmt.Errorf("boot image %s: parse own log: %w", p, err)
	}
	algs, err := dev.Banks()
	if err != nil {
		return nil, fmt.Errorf("boot image %s: %w", p, err)
	}
	logSum := sha256.Sum256(res.EventLog)
	im := &Image{Profile: p, EventLog: res.EventLog, Bundles: res.Bundles, eventLogSHA256: hex.EncodeToString(logSum[:]),
		bundlesSHA256: bundleHashes(res.Bundles)}
	for _, a := range algs {
		if _, ok := a.Hash(); !ok {
			continue // SM3: Go cannot hash it, the agent skips it too
		}
		pcrs, err := dev.ReadPCRs(a)
		if err != nil {
			return nil, fmt.Errorf("boot image %s: %w", p, err)
		}
		replayed, err := log.Replay(a)
		if err != nil {
			return nil, fmt.Errorf("boot image %s: replay %v: %w", p, a, err)
		}
		for pcr, v := range replayed {
			if !bytes.Equal(pcrs[pcr], v) {
				return nil, fmt.Errorf("boot image %s: replaying the log gives %v pcr %d = %x, the tpm holds %x", p, a, pcr, v, pcrs[pcr])
			}
		}
		im.Banks = append(im.Banks, BankValues{Alg: a, PCRs: pcrs})
	}
	if len(im.Banks) == 0 {
		return nil, fmt.Errorf("boot image %s: the tpm has no bank Go can hash", p)
	}
	im.quoted = newQuoteTemplate(im.Banks)
	if im.parts, err = newEvidenceParts(im); err != nil {
		return nil, fmt.Errorf("boot image %s: %w", p, err)
	}
	return im, nil
}

func newQuoteTemplate(banks []BankValues) quoteTemplate {
	t := quoteTemplate{pcrs: make(map[string]map[int][]byte, len(banks))}
	var cat []byte
	for _, b := range banks {
		idx := make([]int, 0, len(b.PCRs))
		for p := range b.PCRs {
			idx = append(idx, p)
		}
		sort.Ints(idx)
		sel := make([]uint, len(idx))
		for i, p := range idx {
			cat = append(cat, b.PCRs[p]...)
			sel[i] = uint(p)
		}
		t.selection.PCRSelections = append(t.selection.PCRSelections,
			tpm2.TPMSPCRSelection{Hash: tpm2.TPMIAlgHash(b.Alg), PCRSelect: tpm2.PCClientCompatible.PCRs(sel...)})
		t.pcrs[b.Alg.String()] = b.PCRs
	}
	t.digest = eventlog.SHA256.Sum(cat)
	return t
}
