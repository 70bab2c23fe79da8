package emurun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/agent"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/bootproof/bootproof/internal/wire"
)

// Config describes one emulated host.
type Config struct {
	Name    string
	Profile emuhost.Profile
	// SecureBoot overrides the profile's default when not nil.
	SecureBoot *bool
	// Seed overrides the TPM seed (default emuhost.HostSeed(Name)); a test
	// uses it to give a known host name another TPM.
	Seed int64
	// MakerCADir holds the emulated TPM maker CA (made on first use).
	MakerCADir string
	// Agent settings: where the verifier is and where to keep identity.
	VerifierURL string
	CAPEM       []byte
	StateDir    string
	JoinToken   string
	Once        bool
	Log         *slog.Logger
	OnResult    func(wire.EvidenceResult)
}

// Run boots the host and runs its agent until ctx ends (or once).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var dev *tpm.Device
	family := cfg.Profile.Family()
	if family == tpm.FamilyTPM20 {
		var err error
		seed := cfg.Seed
		if seed == 0 {
			seed = emuhost.HostSeed(cfg.Name)
		}
		dev, err = tpm.OpenSimulator(seed)
		if err != nil {
			return fmt.Errorf("start TPM simulator: %w", err)
		}
		defer dev.Close()
		if err := manufacture(dev, cfg); err != nil {
			return err
		}
	}
	res, err := emuhost.Boot(dev, emuhost.BootConfig{Profile: cfg.Profile, SecureBoot: cfg.SecureBoot})
	if err != nil {
		return fmt.Errorf("boot %s: %w", cfg.Name, err)
	}
	if res.Halted != nil {
		return fmt.Errorf("host %s did not boot: %w", cfg.Name, res.Halted)
	}
	cfg.Log.Info("booted", "host", cfg.Name, "profile", cfg.Profile, "secure_boot", res.SecureBoot, "tpm", family.String())
	ac := agent.Config{VerifierURL: cfg.VerifierURL, CAPEM: cfg.CAPEM, StateDir: cfg.StateDir, Host: cfg.Name,
		JoinToken: cfg.JoinToken, Family: family.String(), Once: cfg.Once, NewAK: true, Log: cfg.Log, OnResult: cfg.OnResult,
		EventLog: func() ([]byte, error) { return res.EventLog, nil },
		Bundles:  func() ([][]byte, error) { return res.Bundles, nil }}
	if dev != nil {
		ac.TPM = agent.DeviceTPM{Dev: dev}
	}
	a, err := agent.New(ac)
	if err != nil {
		return err
	}
	err = a.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// manufacture gives the TPM the EK certificate a maker would have put in
// its NV storage. The simulator forgets NV on exit, so this runs at every
// start; the EK itself is the same each time.
func manufacture(dev *tpm.Device, cfg Config) error {
	if cfg.MakerCADir == "" {
		return errors.New("maker CA directory is required for an emulated TPM 2.0")
	}
	if err := os.MkdirAll(cfg.MakerCADir, 0o700); err != nil {
		return fmt.Errorf("maker CA directory: %w", err)
	}
	ca, err := makerca.LoadOrCreate(cfg.MakerCADir)
	if err != nil {
		return fmt.Errorf("load maker CA: %w", err)
	}
	ekPub, cert, err := dev.EK()
	if err != nil {
		return fmt.Errorf("read EK: %w", err)
	}
	if len(cert) > 0 {
		return nil
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
	if err != nil {
		return fmt.Errorf("decode EK: %w", err)
	}
	key, err := tpm2.Pub(*pub)
	if err != nil {
		return fmt.Errorf("decode EK: %w", err)
	}
	der, err := ca.IssueEKCert(key, fmt.Sprintf("%x", emuhost.HostSeed(cfg.Name)))
	if err != nil {
		return fmt.Errorf("issue EK certificate: %w", err)
	}
	return dev.ProvisionEKCert(der)
}
