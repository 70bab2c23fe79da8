package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/bootproof/bootproof/internal/verifier"
)

// storageFile is the verifier configuration's storage limits (YAML keys
// and flags of the same names); sizes are written like 16MiB or 10GiB.
type storageFile struct {
	HostEvidenceMax     string `yaml:"host_evidence_max"`
	HostEvidencePerHour int    `yaml:"host_evidence_per_hour"`
	HistoryEvidenceDays int    `yaml:"history_evidence_days"`
	HistoryEvidenceMax  string `yaml:"history_evidence_max"`
}

func addStorageFlags(f *pflag.FlagSet, s *storageFile) {
	f.StringVar(&s.HostEvidenceMax, "host-evidence-max", "", fmt.Sprintf("most evidence one host's status changes keep, "+
		"e.g. 16MiB (default %s); the oldest is dropped first, the verdicts stay", sizeText(verifier.DefaultHostEvidenceBytes)))
	f.IntVar(&s.HostEvidencePerHour, "host-evidence-per-hour", 0, fmt.Sprintf("status changes of one host within an hour "+
		"that keep full evidence (default %d)", verifier.DefaultHostEvidencePerHour))
	f.IntVar(&s.HistoryEvidenceDays, "history-evidence-days", 0, fmt.Sprintf("days status changes keep their evidence "+
		"(default %d; each host's newest keeps it)", int(verifier.DefaultHistoryEvidenceAge/(24*time.Hour))))
	f.StringVar(&s.HistoryEvidenceMax, "history-evidence-max", "", fmt.Sprintf("most evidence all status changes keep, "+
		"e.g. 10GiB (default %s)", sizeText(verifier.DefaultHistoryEvidenceBytes)))
}

// mergeStorageFlags overrides file with the storage flags that were set.
func mergeStorageFlags(f *pflag.FlagSet, file *storageFile, flags storageFile) {
	if f.Changed("host-evidence-max") {
		file.HostEvidenceMax = flags.HostEvidenceMax
	}
	if f.Changed("host-evidence-per-hour") {
		file.HostEvidencePerHour = flags.HostEvidencePerHour
	}
	if f.Changed("history-evidence-days") {
		file.HistoryEvidenceDays = flags.HistoryEvidenceDays
	}
	if f.Changed("history-evidence-max") {
		file.HistoryEvidenceMax = flags.HistoryEvidenceMax
	}
}

// limits checks s and returns the verifier's limits (0: its default).
func (s storageFile) limits() (verifier.StorageLimits, error) {
	var l verifier.StorageLimits
	var err error
	if l.HostMaxBytes, err = parseSize("host-evidence-max", s.HostEvidenceMax); err != nil {
		return l, err
	}
	if l.HistoryMaxBytes, err = parseSize("history-evidence-max", s.HistoryEvidenceMax); err != nil {
		return l, err
	}
	if s.HostEvidencePerHour < 0 {
		return l, fmt.Errorf("--host-evidence-per-hour %d: want 1 or more (0: the default)", s.HostEvidencePerHour)
	}
	if s.HistoryEvidenceDays < 0 {
		return l, fmt.Errorf("--history-evidence-days %d: want 1 or more (0: the default)", s.HistoryEvidenceDays)
	}
	l.HostPerHour = s.HostEvidencePerHour
	l.HistoryMaxAge = time.Duration(s.HistoryEvidenceDays) * 24 * time.Hour
	return l, nil
}

// sizeUnits are the suffixes parseSize takes, longest first.
var sizeUnits = []struct {
	suffix string
	factor int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads a size such as 16MiB, 512KiB or 1048576 (bytes) given as
// the setting name; "" is 0 (the default).
func parseSize(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	num, factor := v, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			num, factor = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/factor {
		return 0, fmt.Errorf("--%s %q: want a positive size such as 16MiB, 10GiB or a number of bytes", name, v)
	}
	return n * factor, nil
}

// sizeText writes n bytes as parseSize reads it, in the largest whole unit.
func sizeText(n int64) string {
	for _, u := range sizeUnits {
		if n%u.factor == 0 {
			return fmt.Sprintf("%d%s", n/u.factor, u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}
