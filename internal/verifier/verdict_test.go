package verifier

import (
	"testing"

	"github.com/bootproof/bootproof/internal/appraisal"
)

func TestFirstFailure(t *testing.T) {
	tests := []struct {
		name  string
		codes []string // failed checks, in the order appraisal made them
		want  string
	}{
		{"secure boot off only echoes in options", []string{"secureboot.disabled", "reference.boot_options"}, "secureboot.disabled"},
		{"tampered kernel with secure boot off", []string{"secureboot.disabled", "reference.boot_options", "reference.kernel"}, "reference.kernel"},
		{"unsigned bundle beats unknown module", []string{"secureboot.disabled", "reference.module", "bundle.signature"}, "bundle.signature"},
		{"forged quote beats everything", []string{"reference.kernel", "quote.signature"}, "quote.signature"},
		{"replay failure before references", []string{"reference.firmware", "eventlog.replay"}, "eventlog.replay"},
		{"secure boot off changes the firmware measured", []string{"reference.firmware", "secureboot.disabled"}, "secureboot.disabled"},
		{"foreign boot loader beats secure boot off", []string{"secureboot.disabled", "reference.firmware", "reference.bootloader"}, "reference.bootloader"},
		{"an unproven event name beats the component it names", []string{"secureboot.disabled", "reference.kernel", "eventlog.data_mismatch"}, "eventlog.data_mismatch"},
		{"a new reference class is foreign code", []string{"secureboot.disabled", "reference.boot_options", "reference.initrd"}, "reference.initrd"},
		{"equal rank keeps the appraisal's order", []string{"reference.kernel", "reference.bootloader"}, "reference.kernel"},
		{"an unknown check is still a headline", []string{"newcheck.thing"}, "newcheck.thing"},
		{"an unknown check ranks after the known ones", []string{"newcheck.thing", "reference.firmware"}, "reference.firmware"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &appraisal.Verdict{Status: appraisal.Failed, Checks: []appraisal.Check{{Code: "quote.nonce", Passed: true}}}
			for _, c := range tt.codes {
				v.Checks = append(v.Checks, appraisal.Check{Code: c})
			}
			if got := firstFailure(v); got == nil || got.Code != tt.want {
				t.Errorf("firstFailure = %+v, want %s", got, tt.want)
			}
		})
	}
	if got := firstFailure(&appraisal.Verdict{Checks: []appraisal.Check{{Code: "quote.nonce", Passed: true}}}); got != nil {
		t.Errorf("firstFailure of a passing verdict = %+v", got)
	}
}
