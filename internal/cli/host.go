package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/emurun"
)

func newHostCmd(stdio IO) *cobra.Command {
	var name, profile, secureBoot, makerDir, verifierURL, caFile, state, joinToken, logLevel string
	var once bool
	var seed int64
	cmd := &cobra.Command{
		Use:   "host --profile P --name NAME --verifier URL --ca FILE --state DIR",
		Short: "Run an emulated host: boot its chain into its own TPM, then run the agent",
		Long: `Run one emulated host. It starts the TCG reference TPM (seeded from the host
name, so the same name always has the same EK), gives it an EK certificate
from the emulated maker CA in --maker-ca, boots the profile's Secure Boot chain
into it, and runs the agent against the verifier.

Profiles: ` + profileList(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := emuhost.ParseProfile(profile)
			if err != nil {
				return err
			}
			sb, err := parseOnOff(secureBoot)
			if err != nil {
				return err
			}
			if name == "" {
				name = "esx-" + profile
			}
			ca, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("read verifier CA: %w", err)
			}
			return emurun.Run(cmd.Context(), emurun.Config{Name: name, Profile: p, SecureBoot: sb, Seed: seed, MakerCADir: makerDir,
				VerifierURL: verifierURL, CAPEM: ca, StateDir: state, JoinToken: joinToken, Once: once,
				Log: newLogger(stdio, logLevel)})
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "good", "host profile")
	f.StringVar(&name, "name", "", "host name (default esx-PROFILE)")
	f.StringVar(&secureBoot, "secure-boot", "", "on or off: override the profile's Secure Boot setting")
	f.StringVar(&makerDir, "maker-ca", "emulated-maker-ca", "folder of the emulated TPM maker CA")
	f.StringVar(&verifierURL, "verifier", os.Getenv("BOOTPROOF_VERIFIER"), "verifier URL")
	f.StringVar(&caFile, "ca", os.Getenv("BOOTPROOF_CA"), "verifier CA certificate (PEM)")
	f.StringVar(&state, "state", "", "agent state directory (default ./state-NAME)")
	f.StringVar(&joinToken, "join-token", os.Getenv("BOOTPROOF_JOIN_TOKEN"), "join token for the first enrolment")
	f.BoolVar(&once, "once", false, "attest once and exit")
	f.Int64Var(&seed, "tpm-seed", 0, "give the emulated TPM this seed instead of the one derived from the name (another TPM)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if state == "" {
			n := name
			if n == "" {
				n = "esx-" + profile
			}
			state = "state-" + n
		}
		return nil
	}
	return cmd
}

func profileList() string {
	s := ""
	for i, p := range emuhost.Profiles() {
		if i > 0 {
			s += ", "
		}
		s += string(p)
	}
	return s
}

func parseOnOff(s string) (*bool, error) {
	switch s {
	case "":
		return nil, nil
	case "on", "true":
		t := true
		return &t, nil
	case "off", "false":
		f := false
		return &f, nil
	}
	return nil, fmt.Errorf("want on or off, not %q", s)
}
