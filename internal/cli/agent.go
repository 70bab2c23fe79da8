package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/agent"
	"github.com/bootproof/bootproof/internal/tpm"
)

// Linux's TPM and event log locations.
const (
	defaultEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements"
	maxEventLog     = 16 << 20
	maxBundleFile   = 4 << 20
)

type agentFlags struct {
	verifier, caFile, state, host, joinToken string
	tpmSpec, eventLog, bundles, sysfs        string
	once                                     bool
	logLevel                                 string
}

func newAgentCmd(stdio IO) *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the host agent: enrol with the verifier and answer it with TPM evidence",
		Long: `Run the agent on a host. It finds the TPM (/dev/tpmrm0, else /dev/tpm0), its
family, and the firmware event log, enrols with the verifier once (with a join
token), then attests at start, at the verifier's interval and on demand.

--tpm takes a device path, "sim:SEED" (the TCG reference TPM in this process,
for tests) or "swtpm:HOST:PORT" (swtpm's TCP command port).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, closeTPM, err := agentConfig(f)
			if err != nil {
				return err
			}
			defer closeTPM()
			cfg.Log = newLogger(stdio, f.logLevel)
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			err = a.Run(cmd.Context())
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.verifier, "verifier", os.Getenv("BOOTPROOF_VERIFIER"), "verifier URL (https://host:8443), or BOOTPROOF_VERIFIER")
	fl.StringVar(&f.caFile, "ca", os.Getenv("BOOTPROOF_CA"), "verifier CA certificate to pin (PEM), or BOOTPROOF_CA")
	fl.StringVar(&f.state, "state", "/var/lib/bootproof-agent", "state directory (identity, AK)")
	fl.StringVar(&f.host, "host", "", "host name to enrol as (default: this machine's hostname)")
	fl.StringVar(&f.joinToken, "join-token", os.Getenv("BOOTPROOF_JOIN_TOKEN"), "join token for the first enrolment, or BOOTPROOF_JOIN_TOKEN")
	fl.StringVar(&f.tpmSpec, "tpm", "", "TPM: device path, sim:SEED or swtpm:HOST:PORT (default: detect)")
	fl.StringVar(&f.eventLog, "eventlog", defaultEventLog, "firmware event log")
	fl.StringVar(&f.bundles, "bundles", "", "folder of installed bundle files (*.bundle)")
	fl.StringVar(&f.sysfs, "sysfs", "/sys", "sysfs root, for TPM family detection")
	fl.BoolVar(&f.once, "once", false, "enrol if needed, attest once and exit")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func agentConfig(f agentFlags) (agent.Config, func(), error) {
	noop := func() {}
	if f.caFile == "" {
		return agent.Config{}, noop, errors.New("--ca is required: the agent pins the verifier's CA certificate")
	}
	ca, err := os.ReadFile(f.caFile)
	if err != nil {
		return agent.Config{}, noop, fmt.Errorf("read verifier CA: %w", err)
	}
	if f.host == "" {
		if f.host, err = os.Hostname(); err != nil {
			return agent.Config{}, noop, fmt.Errorf("host name: %w", err)
		}
	}
	cfg := agent.Config{VerifierURL: f.verifier, CAPEM: ca, StateDir: f.state, Host: f.host, JoinToken: f.joinToken, Once: f.once}
	dev, family, err := openTPM(f.tpmSpec, f.sysfs)
	if err != nil {
		return cfg, noop, err
	}
	cfg.Family = family.String()
	if dev == nil {
		return cfg, noop, nil
	}
	cfg.TPM = agent.DeviceTPM{Dev: dev}
	logPath := f.eventLog
	cfg.EventLog = func() ([]byte, error) { return readBounded(logPath, maxEventLog) }
	if f.bundles != "" {
		dir := f.bundles
		cfg.Bundles = func() ([][]byte, error) { return readBundles(dir) }
	}
	return cfg, func() { dev.Close() }, nil
}

// openTPM opens the TPM named by spec, or finds the host's. A host with a
// TPM 1.2 or none gets a nil device and its family.
func openTPM(spec, sysfs string) (*tpm.Device, tpm.Family, error) {
	var dev *tpm.Device
	var err error
	switch {
	case strings.HasPrefix(spec, "sim:"):
		seed, perr := strconv.ParseInt(strings.TrimPrefix(spec, "sim:"), 10, 64)
		if perr != nil {
			return nil, 0, fmt.Errorf("--tpm %s: seed is not a number", spec)
		}
		dev, err = tpm.OpenSimulator(seed)
	case strings.HasPrefix(spec, "swtpm:"):
		dev, err = tpm.OpenSwtpm(strings.TrimPrefix(spec, "swtpm:"))
	case spec != "":
		dev, err = tpm.OpenDevice(spec)
	default:
		if fam := tpm.DetectFamily(sysfs); fam != tpm.FamilyTPM20 {
			return nil, fam, nil
		}
		for _, p := range []string{"/dev/tpmrm0", "/dev/tpm0"} {
			if _, serr := os.Stat(p); serr == nil {
				dev, err = tpm.OpenDevice(p)
				break
			}
		}
		if dev == nil && err == nil {
			return nil, tpm.FamilyNone, nil
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open TPM: %w", err)
	}
	fam, err := dev.Family()
	if err != nil {
		dev.Close()
		return nil, 0, fmt.Errorf("TPM family: %w", err)
	}
	if fam != tpm.FamilyTPM20 {
		dev.Close()
		return nil, fam, nil
	}
	return dev, fam, nil
}

// readBounded reads a whole file of at most limit bytes. sysfs files
// report size 0, so it reads to EOF rather than trusting Stat.
func readBounded(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func readBundles(dir string) ([][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.bundle"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		b, err := readBounded(n, maxBundleFile)
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", n, err)
		}
		out = append(out, b)
	}
	return out, nil
}
