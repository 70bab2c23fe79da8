package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/bootproof/bootproof/internal/server"
	"github.com/bootproof/bootproof/internal/verifier"
)

// The database session bound reaches the server from the flag or the
// configuration file, the flag winning, and a negative one is refused.
func TestVerifierDBMaxConns(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(conf, []byte("db_max_conns: 12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{name: "default", want: 0},
		{name: "flag", args: []string{"--db-max-conns", "8"}, want: 8},
		{name: "file", args: []string{"--config", conf}, want: 12},
		{name: "flag over file", args: []string{"--config", conf, "--db-max-conns", "4"}, want: 4},
		{name: "negative", args: []string{"--db-max-conns", "-1"}, wantErr: "--db-max-conns -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadArgs(t, tt.args, tt.wantErr, func(fs *pflag.FlagSet, flags *verifierFile) {
				flags.DBMaxConns, _ = fs.GetInt("db-max-conns")
			})
			if ok && cfg.DBMaxConns != tt.want {
				t.Errorf("DBMaxConns %d, want %d", cfg.DBMaxConns, tt.want)
			}
		})
	}
}

// The storage limits reach the server from the configuration file or the
// flags, the flags winning; sizes take units, and a bad one is refused
// naming the setting.
func TestVerifierStorageLimits(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "v.yaml")
	yaml := "host_evidence_max: 4MiB\nhost_evidence_per_hour: 6\nhistory_evidence_days: 30\nhistory_evidence_max: 2GiB\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    verifier.StorageLimits
		wantErr string
	}{
		{name: "defaults", want: verifier.StorageLimits{}},
		{name: "file", args: []string{"--config", conf},
			want: verifier.StorageLimits{HostMaxBytes: 4 << 20, HostPerHour: 6, HistoryMaxAge: 30 * 24 * time.Hour, HistoryMaxBytes: 2 << 30}},
		{name: "flags over file", args: []string{"--config", conf, "--host-evidence-max", "512KiB", "--history-evidence-days", "7"},
			want: verifier.StorageLimits{HostMaxBytes: 512 << 10, HostPerHour: 6, HistoryMaxAge: 7 * 24 * time.Hour, HistoryMaxBytes: 2 << 30}},
		{name: "bytes", args: []string{"--history-evidence-max", "1000000"}, want: verifier.StorageLimits{HistoryMaxBytes: 1e6}},
		{name: "unknown unit", args: []string{"--host-evidence-max", "4MB"}, wantErr: `--host-evidence-max "4MB"`},
		{name: "negative", args: []string{"--host-evidence-per-hour", "-1"}, wantErr: "--host-evidence-per-hour -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadArgs(t, tt.args, tt.wantErr, func(fs *pflag.FlagSet, flags *verifierFile) {
				flags.HostEvidenceMax, _ = fs.GetString("host-evidence-max")
				flags.HostEvidencePerHour, _ = fs.GetInt("host-evidence-per-hour")
				flags.HistoryEvidenceDays, _ = fs.GetInt("history-evidence-days")
				flags.HistoryEvidenceMax, _ = fs.GetString("history-evidence-max")
			})
			if ok && cfg.Storage != tt.want {
				t.Errorf("Storage %+v, want %+v", cfg.Storage, tt.want)
			}
		})
	}
}

// loadArgs loads the verifier's configuration from args as the command
// does, read copying the flags the test is about. With wantErr it checks
// that loading fails naming it and returns false.
func loadArgs(t *testing.T, args []string, wantErr string, read func(*pflag.FlagSet, *verifierFile)) (server.Config, bool) {
	t.Helper()
	cmd := newVerifierCmd(IO{})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	var flags verifierFile
	read(cmd.Flags(), &flags)
	path, _ := cmd.Flags().GetString("config")
	cfg, err := loadVerifierConfig(cmd, path, flags, nil)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one naming %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}

// Each host's nonce allowance reaches the server from the flag; "off"
// turns it off and a malformed one is refused naming the flag.
func TestVerifierHostNonces(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    server.NonceAllowance
		wantErr string
	}{
		{name: "default", want: server.NonceAllowance{}},
		{name: "set", args: []string{"--host-nonces", "5/2s"}, want: server.NonceAllowance{Burst: 5, Every: 2 * time.Second}},
		{name: "off", args: []string{"--host-nonces", "off"}, want: server.NoNonceLimit},
		{name: "no period", args: []string{"--host-nonces", "5"}, wantErr: `--host-nonces "5"`},
		{name: "zero burst", args: []string{"--host-nonces", "0/1s"}, wantErr: `--host-nonces "0/1s"`},
		{name: "bad period", args: []string{"--host-nonces", "5/soon"}, wantErr: `the period "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadArgs(t, tt.args, tt.wantErr, func(fs *pflag.FlagSet, flags *verifierFile) {
				flags.HostNonces, _ = fs.GetString("host-nonces")
			})
			if ok && cfg.HostNonces != tt.want {
				t.Errorf("HostNonces %+v, want %+v", cfg.HostNonces, tt.want)
			}
		})
	}
}
