package bootview

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

func TestStages(t *testing.T) {
	d := map[string]string{"sha256": "6c21a18aaa6fa810d241595c12c0d745934e6d1e60ef1f809f524415c3d640f3"}
	tests := []struct {
		name string
		c    policy.Component
		want Stage
	}{
		{
			name: "judged and matched, verified by an authority",
			c: policy.Component{Class: policy.ClassKernel, Name: "vmlinuz-6.1", NameProven: true, PCR: 4, EventIndex: 12, Digests: d,
				Authority: "Debian Secure Boot Signer 2022", Judged: true, Reference: "vmlinuz-6.1 (6c21)"},
			want: Stage{Class: "kernel", Kind: "kernel", Name: "vmlinuz-6.1", NameProven: true, PCR: 4, EventIndex: 12, Bank: "sha256",
				Digest: d["sha256"], Short: "6c21a18aaa6fa810…", VerifiedBy: "verified by Debian Secure Boot Signer 2022",
				Judgement: "matches vmlinuz-6.1 (6c21)"},
		},
		{
			name: "authority inferred: logged once, for an earlier image",
			c: policy.Component{Class: policy.ClassKernel, Name: "/vmlinuz (EFI image)", PCR: 4, EventIndex: 39, Digests: d,
				Authority: "Debian Secure Boot CA", AuthorityInferred: true},
			want: Stage{Class: "kernel", Kind: "kernel", Name: "/vmlinuz (EFI image) (label from the host, unproven)", PCR: 4, EventIndex: 39,
				Bank: "sha256", Digest: d["sha256"], Short: "6c21a18aaa6fa810…",
				VerifiedBy: "verified by Debian Secure Boot CA (inferred: that certificate is logged once per boot, for an earlier image)",
				Judgement:  "not judged: the policy has no reference values for kernel"},
		},
		{
			name: "judged, no reference matched: differs",
			c:    policy.Component{Class: "initrd", Name: `\initrd.img`, Digests: d, Judged: true},
			want: Stage{Class: "initrd", Kind: "initramfs", Name: `\initrd.img (label from the host, unproven)`, Bank: "sha256",
				Digest: d["sha256"], Short: "6c21a18aaa6fa810…", Judgement: "does not match any reference", Differs: true},
		},
		{
			name: "not judged, name withheld, only SHA-384 proven",
			c:    policy.Component{Class: "boot_commands", Digests: map[string]string{"sha384": "ab"}},
			want: Stage{Class: "boot_commands", Kind: "GRUB command", Name: "name withheld: data did not match its digest", Withheld: true,
				Bank: "sha384", Digest: "ab", Short: "ab", Judgement: "not judged: the policy has no reference values for GRUB command"},
		},
		{
			name: "unknown class shown by its code",
			c:    policy.Component{Class: "dtb", Name: "board.dtb", NameProven: true},
			want: Stage{Class: "dtb", Kind: "dtb", Name: "board.dtb", NameProven: true,
				Judgement: "not judged: the policy has no reference values for dtb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Stages(policy.Components{tt.c})[0]); diff != "" {
				t.Errorf("Stages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecureBootOf(t *testing.T) {
	tests := []struct {
		name string
		sb   *appraisal.SecureBoot
		want *SecureBoot
	}{
		{name: "none", sb: nil, want: nil},
		{
			name: "certificates by subject, shim with validation off",
			sb: &appraisal.SecureBoot{Enabled: true, PK: []string{"aa"}, PKCerts: []appraisal.CertName{{Subject: "PK 2026", SHA256: "aa"}}, DBX: 1,
				AuthorityCerts: []appraisal.CertName{{Subject: "Microsoft Corporation UEFI CA 2011", SHA256: "bb"}},
				Shim: &appraisal.ShimState{Validation: "off", MokLists: []appraisal.Measurement{
					{PCR: 14, EventIndex: 25, Type: "EV_IPL", Name: "MokListX", SHA256: "cc", Note: "contents not in the log"}}}},
			want: &SecureBoot{Enabled: true, PK: []Cert{{Subject: "PK 2026", SHA256: "aa"}}, KEK: []Cert{}, DB: []Cert{}, DBX: "1 entry",
				Authorities: []Cert{{Subject: "Microsoft Corporation UEFI CA 2011", SHA256: "bb"}},
				Shim: &Shim{SbatLevel: "not measured", Validation: "off (MokSBState asked shim not to verify what it loads)",
					MokLists: []Measured{{PCR: 14, EventIndex: 25, Type: "EV_IPL", Name: "MokListX (label from the host, unproven)",
						Digest: "cc", Short: "cc", Note: "contents not in the log"}}}},
		},
		{
			name: "fingerprints only (a verdict recorded before subjects were kept)",
			sb:   &appraisal.SecureBoot{DB: []string{"cc"}, Authorities: []string{"cc"}},
			want: &SecureBoot{PK: []Cert{}, KEK: []Cert{}, DB: []Cert{{SHA256: "cc"}}, DBX: "0 entries", Authorities: []Cert{{SHA256: "cc"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SecureBootOf(tt.sb)); diff != "" {
				t.Errorf("SecureBootOf (-want +got):\n%s", diff)
			}
		})
	}
	if got := (Cert{SHA256: "cc"}).String(); got != "subject not recorded (sha256:cc)" {
		t.Errorf("a certificate without subject reads %q", got)
	}
}

func TestNotJudged(t *testing.T) {
	got := NotJudged([]appraisal.Measurement{
		{PCR: 14, EventIndex: 30, Type: "EV_IPL", Name: "MokList", NameProven: true, SHA256: "6c21a18aaa6fa810d241595c12c0d745934e6d1e60ef1f809f524415c3d640f3"},
		{PCR: 1, EventIndex: 4, Type: "EV_EFI_VARIABLE_BOOT", Name: "Boot0001"},
	})
	want := []Measured{
		{PCR: 14, EventIndex: 30, Type: "EV_IPL", Name: "MokList", Digest: "6c21a18aaa6fa810d241595c12c0d745934e6d1e60ef1f809f524415c3d640f3", Short: "6c21a18aaa6fa810…"},
		{PCR: 1, EventIndex: 4, Type: "EV_EFI_VARIABLE_BOOT", Name: "Boot0001 (label from the host, unproven)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NotJudged (-want +got):\n%s", diff)
	}
}
