package appraisal

import "testing"

// TestHeadlineRanksClasses checks the headline of the failures a real
// change of a shim + GRUB boot brings, listed in check order: whatever
// else changed with it, the operator reads the part that was changed.
func TestHeadlineRanksClasses(t *testing.T) {
	tests := []struct {
		name  string
		fails []string // failed checks, in the appraisal's order
		want  string
	}{
		// A new kernel brings a new initramfs, grub.cfg, GRUB commands
		// and command line.
		{"another kernel", []string{CodeRefKernel, CodeRefInitrd, CodeRefBootOptions, CodeRefBootConfig, CodeRefBootCommands}, CodeRefKernel},
		{"another initramfs", []string{CodeRefInitrd, CodeRefBootConfig}, CodeRefInitrd},
		// A changed command line changes grub.cfg and GRUB's `linux`.
		{"changed command line", []string{CodeRefBootOptions, CodeRefBootConfig, CodeRefBootCommands}, CodeRefBootOptions},
		{"grub.cfg changed, same command line", []string{CodeRefBootConfig, CodeRefBootCommands}, CodeRefBootConfig},
		{"a GRUB command alone", []string{CodeRefBootCommands}, CodeRefBootCommands},
		{"firmware before boot_config", []string{CodeRefFirmware, CodeRefBootConfig}, CodeRefFirmware},
		{"Secure Boot off before boot_config", []string{CodeRefBootConfig, CodeSecureBootDisabled}, CodeSecureBootDisabled},
		{"a boot loader beside the files it read", []string{CodeRefBootloader, CodeRefBootConfig, CodeRefBootCommands}, CodeRefBootloader},
		{"an unknown code after boot_commands", []string{"future.check", CodeRefBootCommands}, CodeRefBootCommands},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verdict{Status: Failed}
			for _, code := range tt.fails {
				v.Checks = append(v.Checks, Check{Code: code, Passed: false})
			}
			if got := v.Headline(); got == nil || got.Code != tt.want {
				t.Errorf("Headline() = %+v, want %s", got, tt.want)
			}
		})
	}
}
