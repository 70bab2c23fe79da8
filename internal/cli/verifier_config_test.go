package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			cmd := newVerifierCmd(IO{})
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			var flags verifierFile
			flags.DBMaxConns, _ = cmd.Flags().GetInt("db-max-conns")
			path, _ := cmd.Flags().GetString("config")
			cfg, err := loadVerifierConfig(cmd, path, flags, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DBMaxConns != tt.want {
				t.Errorf("DBMaxConns %d, want %d", cfg.DBMaxConns, tt.want)
			}
		})
	}
}
