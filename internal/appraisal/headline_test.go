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
		// The policy's rules (signers.go, cmdline.go): a denied build is
		// foreign code; the command-line rules rank with the boot options,
		// checked before them, and SbatLevel with Secure Boot.
		{"a denied kernel before a kernel file it ran from", []string{CodeRefDenied, CodeRefKernel, CodeRefInitrd}, CodeRefDenied},
		{"a denied kernel before Secure Boot", []string{CodeSecureBootDisabled, CodeRefDenied}, CodeRefDenied},
		{"a forbidden argument before its changed command line", []string{CodeCmdlineForbidden, CodeRefBootOptions, CodeRefBootConfig}, CodeCmdlineForbidden},
		{"a missing argument before grub.cfg", []string{CodeRefBootConfig, CodeRefBootCommands, CodeCmdlineRequired}, CodeCmdlineRequired},
		{"an unreadable command line after a kernel", []string{CodeCmdlineUnproven, CodeRefKernel}, CodeRefKernel},
		{"SbatLevel with Secure Boot, before the command line", []string{CodeCmdlineForbidden, CodeSecureBootSbatLevel}, CodeSecureBootSbatLevel},
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
