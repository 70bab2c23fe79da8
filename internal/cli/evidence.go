package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
)

// hostInfo is DIR/host.json: what evidence booted, for people and scripts.
type hostInfo struct {
	Host       string   `json:"host"`
	Profile    string   `json:"profile"`
	SecureBoot bool     `json:"secure_boot"`
	TPMFamily  string   `json:"tpm_family"`
	Banks      []string `json:"banks,omitempty"`
	Halted     string   `json:"halted,omitempty"`
	Bundles    []string `json:"bundles"`
}

func newEvidenceCmd(stdio IO) *cobra.Command {
	var profile, out, hostName, secureBoot, state string
	cmd := &cobra.Command{
		Use:   "evidence --profile P --out DIR [--host NAME] [--secure-boot on|off] [--state DIR]",
		Short: "Boot an emulated host into a fresh TPM simulator and write its evidence",
		Long: `Boots an emulated host (no verifier needed) and writes:
  DIR/eventlog.bin     the TCG crypto-agile event log (TPM 2.0 profiles only)
  DIR/pcrs.json        every bank's PCRs read back from the TPM: {"sha256": {"0": "hex", ...}, ...}
  DIR/bundles/*.bundle the installed bundles (the inventory)
  DIR/host.json        profile, Secure Boot, TPM family, halt reason
The TPM is seeded from the host name (default esx-PROFILE). --state keeps the
emulated vendors' keys; without it the built-in deterministic keys are used.
A boot that Secure Boot halts writes what was measured and exits 1.

Profiles: ` + profileList(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := emuhost.ParseProfile(profile)
			if err != nil {
				return err
			}
			sb, err := parseOnOff(secureBoot)
			if err != nil {
				return fmt.Errorf("--secure-boot: %w", err)
			}
			if out == "" {
				return errors.New("evidence: --out is required")
			}
			if hostName == "" {
				hostName = "esx-" + profile
			}
			vendors, err := emuhost.LoadOrCreateVendors(state)
			if err != nil {
				return fmt.Errorf("evidence: %w", err)
			}
			res, pcrs, err := bootEvidence(hostName, emuhost.BootConfig{Profile: p, SecureBoot: sb, Vendors: vendors})
			if err != nil {
				return fmt.Errorf("evidence: %w", err)
			}
			if err := writeEvidence(out, hostName, res, pcrs); err != nil {
				return fmt.Errorf("evidence: %w", err)
			}
			if res.Halted != nil {
				return fmt.Errorf("host %s did not boot (evidence so far in %s): %w", hostName, out, res.Halted)
			}
			fmt.Fprintf(stdio.Out, "host %s (%s): Secure Boot %s, TPM %s, %d bundles; evidence in %s\n",
				hostName, p, onOff(res.SecureBoot), res.TPMFamily, len(res.Bundles), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "good", "host profile")
	f.StringVar(&out, "out", "", "directory to write the evidence to")
	f.StringVar(&hostName, "host", "", "host name; seeds the TPM (default esx-PROFILE)")
	f.StringVar(&secureBoot, "secure-boot", "", "on or off: override the profile's Secure Boot setting")
	f.StringVar(&state, "state", "", "directory keeping the emulated vendors' keys")
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// bootEvidence boots into a fresh simulator and reads every bank back.
func bootEvidence(hostName string, cfg emuhost.BootConfig) (*emuhost.BootResult, eventlog.PCRValues, error) {
	if cfg.Profile.Family() != tpm.FamilyTPM20 {
		res, err := emuhost.Boot(nil, cfg)
		return res, nil, err
	}
	dev, err := tpm.OpenSimulator(emuhost.HostSeed(hostName))
	if err != nil {
		return nil, nil, err
	}
	defer dev.Close()
	res, err := emuhost.Boot(dev, cfg)
	if err != nil {
		return nil, nil, err
	}
	pcrs := eventlog.PCRValues{}
	for _, bank := range res.Banks {
		if pcrs[bank], err = dev.ReadPCRs(bank); err != nil {
			return nil, nil, err
		}
	}
	return res, pcrs, nil
}

func writeEvidence(dir, hostName string, res *emuhost.BootResult, pcrs eventlog.PCRValues) error {
	if err := os.MkdirAll(filepath.Join(dir, "bundles"), 0o755); err != nil {
		return err
	}
	info := hostInfo{Host: hostName, Profile: string(res.Profile), SecureBoot: res.SecureBoot, TPMFamily: res.TPMFamily.String(), Bundles: []string{}}
	for _, b := range res.Banks {
		info.Banks = append(info.Banks, b.String())
	}
	if res.Halted != nil {
		info.Halted = res.Halted.Error()
	}
	for _, raw := range res.Bundles {
		b, err := bundle.Parse(raw)
		if err != nil {
			return fmt.Errorf("installed bundle: %w", err)
		}
		name := b.Descriptor.Name + "-" + b.Descriptor.Version + ".bundle"
		if err := os.WriteFile(filepath.Join(dir, "bundles", name), raw, 0o644); err != nil {
			return err
		}
		info.Bundles = append(info.Bundles, name)
	}
	if res.EventLog != nil {
		if err := os.WriteFile(filepath.Join(dir, fileEventLog), res.EventLog, 0o644); err != nil {
			return err
		}
		pj, err := json.MarshalIndent(pcrs, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filePCRs), append(pj, '\n'), 0o644); err != nil {
			return err
		}
	}
	hj, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fileHost), append(hj, '\n'), 0o644)
}
