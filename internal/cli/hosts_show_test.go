package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/policy"
)

var showNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func ip(i int) *int { return &i }

// showChain is a shim + GRUB + kernel boot as the appraisal records it
// (the fields of issue 20 set), with the kernel judged as given.
func showChain(kernelRef string) *appraisal.Verdict {
	d := func(s string) map[string]string { return map[string]string{"sha256": strings.Repeat(s, 64)} }
	cert := func(s, fp string) appraisal.CertName {
		return appraisal.CertName{Subject: s, SHA256: strings.Repeat(fp, 64)}
	}
	msca, debian := cert("Microsoft Corporation UEFI CA 2011", "4"), cert("Debian Secure Boot CA", "5")
	return &appraisal.Verdict{
		Status: appraisal.Passed, Bank: "sha256",
		Checks: []appraisal.Check{{Code: appraisal.CodeQuoteSignature, Passed: true, Message: "The quote is signed by this host's enrolled attestation key."}},
		Components: policy.Components{
			{Class: policy.ClassBootloader, Name: `\EFI\debian\shimx64.efi`, PCR: 4, EventIndex: 12, Digests: d("a"),
				Authority: msca.Subject, AuthoritySHA256: msca.SHA256, Judged: true, Reference: "shim 15.8 (" + strings.Repeat("a", 64) + ")"},
			{Class: policy.ClassBootloader, Name: `\EFI\debian\grubx64.efi`, PCR: 4, EventIndex: 14, Digests: d("b"),
				Authority: debian.Subject, AuthoritySHA256: debian.SHA256, Judged: true, Reference: "grub 2.06 (" + strings.Repeat("b", 64) + ")"},
			{Class: policy.ClassKernel, Name: "/boot/vmlinuz-6.1.0-18-amd64", NameProven: true, PCR: 4, EventIndex: 20, Digests: d("c"),
				Authority: debian.Subject, AuthoritySHA256: debian.SHA256, Judged: true, Reference: kernelRef},
			{Class: "initrd", Name: "/boot/initrd.img-6.1.0-18-amd64", NameProven: true, PCR: 9, EventIndex: 21, Digests: d("d")},
			{Class: policy.ClassBootOptions, Name: "/boot/vmlinuz-6.1.0-18-amd64 root=/dev/vda1 ro quiet", NameProven: true, PCR: 8, EventIndex: 22,
				Digests: d("e"), Judged: true, Reference: "debian cmdline (" + strings.Repeat("e", 64) + ")"},
		},
		SecureBoot: &appraisal.SecureBoot{Enabled: true, PKCerts: []appraisal.CertName{cert("OVMF PK", "1")},
			KEKCerts: []appraisal.CertName{cert("Microsoft Corporation KEK CA 2011", "2")}, DBCerts: []appraisal.CertName{msca}, DBX: 77,
			AuthorityCerts: []appraisal.CertName{msca, debian},
			Shim: &appraisal.ShimState{SbatLevel: "sbat,1,2023012900\nshim,2\ngrub,3\n", Validation: "on",
				MokLists: []appraisal.Measurement{{PCR: 14, EventIndex: 16, Type: "EV_IPL", Name: "MokList", SHA256: strings.Repeat("f", 64), Note: "contents not in the log"}}}},
		NotJudged: []appraisal.Measurement{
			{PCR: 14, EventIndex: 16, Type: "EV_IPL", Name: "MokList", NameProven: true, SHA256: strings.Repeat("f", 64)},
			{PCR: 1, EventIndex: 3, Type: "EV_EFI_VARIABLE_BOOT", Name: "Boot0001"},
		},
	}
}

func showHost(status string, v *appraisal.Verdict) api.HostDetail {
	at := showNow.Add(-90 * time.Second)
	return api.HostDetail{Host: api.Host{Name: "deb-01", Group: "lab", TPMFamily: "2.0", Status: status,
		StatusSince: showNow.Add(-time.Hour), LastAttested: &at}, Verdict: v}
}

// failedShow is deb-01 after booting another signed kernel: the kernel
// matched no reference, and that is the headline.
func failedShow() api.HostDetail {
	v := showChain("")
	v.Status = appraisal.Failed
	kernel := appraisal.Check{Code: appraisal.CodeRefKernel, Message: "The kernel \"/boot/vmlinuz-6.1.0-18-amd64\" is not among the policy's reference values.",
		Component: "kernel", Bank: "sha256", PCR: ip(4), EventIndex: ip(20),
		Expected: []string{strings.Repeat("9", 64), strings.Repeat("8", 64)}, Found: strings.Repeat("c", 64)}
	dbx := appraisal.Check{Code: appraisal.CodeSecureBootVariables, Message: "The dbx is older than the group allows.", PCR: ip(7)}
	v.Checks = append(v.Checks, dbx, kernel)
	h := showHost("Failed", v)
	h.ReasonCode, h.Reason = kernel.Code, kernel.Message
	return h
}

// secureBootOnlyShow is deb-01 Passed in a group that constrains no
// component: nothing was judged but Secure Boot.
func secureBootOnlyShow() api.HostDetail {
	v := showChain("")
	v.TrustLevel = appraisal.TrustSecureBootOnly
	h := showHost("Passed", v)
	h.TrustLevel = appraisal.TrustSecureBootOnly
	return h
}

// TestHostsShowText pins `hosts show`'s text for a Passed and a Failed host
// (go test -update rewrites the golden files).
func TestHostsShowText(t *testing.T) {
	for _, tt := range []struct {
		name string
		host api.HostDetail
	}{
		{"hosts-show-passed", showHost("Passed", showChain("debian kernel 6.1.0-18 ("+strings.Repeat("c", 64)+")"))},
		{"hosts-show-failed", failedShow()},
		{"hosts-show-secure-boot-only", secureBootOnlyShow()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := showHostText(&out, raw, showNow); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *updateReplayGolden {
				if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, out.String())
			}
		})
	}
}

// TestHostsShowFailedStartsWithWhatDiffers checks, apart from the golden
// file, what an operator reads first on a Failed host: the headline, then
// the failed checks with the headline's first, before what booted.
func TestHostsShowFailedStartsWithWhatDiffers(t *testing.T) {
	raw, _ := json.Marshal(failedShow())
	var out strings.Builder
	if err := showHostText(&out, raw, showNow); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	order := []string{"What differs", "reason: The kernel", "- reference.kernel:", "- secureboot.variables:", "What booted",
		"! kernel", "does not match any reference"}
	at := 0
	for _, w := range order {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("%q is missing or out of order in:\n%s", w, text)
		}
		at += i
	}
}

func TestHostsShowErrors(t *testing.T) {
	noVerdict, _ := json.Marshal(showHost("Pending", nil))
	err := showHostText(&strings.Builder{}, noVerdict, showNow)
	if !errors.Is(err, errNoVerdict) || err.Error() != "deb-01 is Pending: no verdict yet" {
		t.Errorf("host without verdict: %v", err)
	}
	if err := showHostText(&strings.Builder{}, []byte(`[1]`), showNow); err == nil || !strings.Contains(err.Error(), "not a host") {
		t.Errorf("an answer that is not a host: %v", err)
	}
	err = hostNotFound("nope", &client.APIError{Status: 404, Code: "host.not_found", Message: "no such host"})
	if err.Error() != `no host is named "nope" (host.not_found)` {
		t.Errorf("404: %v", err)
	}
	other := &client.APIError{Status: 503, Code: "store.unavailable"}
	if err := hostNotFound("deb-01", other); err != other {
		t.Errorf("a 503 is not a missing host: %v", err)
	}
}
