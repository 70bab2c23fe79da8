package web

import (
	"strings"
	"testing"
)

// TestHostPageWhatBooted reads the "What booted" section of the fixture's
// hosts (testdata/fleet.json: verdicts with components, authorities,
// certificates, shim state and unjudged measurements set) as an operator
// does: each component named with its stage, authority and judgement, the
// differing one marked and linked to its failure, unproven names marked.
func TestHostPageWhatBooted(t *testing.T) {
	e := newTestEnv(t)
	viewer := e.signedIn(t, viewerToken)
	tests := []struct {
		name, host string
		want       []string
		dontWant   []string
	}{
		{
			name: "passed host names each component and its authority", host: "esx-01",
			want: []string{
				`<h2 id="booted-h">What booted</h2>`,
				`<tr><th scope="row">firmware</th><td>UEFI firmware 2.8</td><td>0</td><td>1</td>`,
				`<tr><th scope="row">boot loader</th><td class="unproven">\EFI\BOOT\BOOTX64.EFI (label from the host, unproven)</td><td>4</td><td>9</td>`,
				`<td>verified by Example Boot Signing CA</td><td>matches \EFI\BOOT\BOOTX64.EFI (4772edc89def2d97`,
				`<tr><th scope="row">kernel</th><td>vmkernel 6.7.0</td><td>5</td><td>31</td>`,
				`<td>verified by Example OS Vendor 2026</td><td>matches vmkernel 6.7.0 (`,
				`<tr><th scope="row">initramfs</th><td class="unproven">/boot/initrd.img-6.7 (label from the host, unproven)</td>`,
				`<td>not judged: the policy has no reference values for initramfs</td>`,
				// the full digest is one click away from the short one
				`<summary><code>6c21a18aaa6fa810…</code></summary><code>sha256:6c21a18aaa6fa810d241595c12c0d745934e6d1e60ef1f809f524415c3d640f3</code>`,
				`<ul class="cmdlines"><li><code>bootstate=0 secureboot=1</code></li></ul>`,
				`<li>Example Platform Key 2026 <code title="SHA-256 fingerprint 7225482ab3f3abf88494cc4e5c782210e91cc29ce78a01a148578b1cf3d646f4">`,
				`<div><dt>Verified the images</dt><dd><ul><li>Example Boot Signing CA `,
				"<div><dt>SbatLevel</dt><dd><pre>sbat,1,2024010900\nshim,4\n</pre></dd></div>",
				`<div><dt>MOK lists (PCR 14)</dt><dd><ul><li>MokList (label from the host, unproven): <code title="bafbd53176a951fe57a7e41eece9bb52ba642e7ecbea72da8bcb8cffeb243460">bafbd53176a951fe…</code> (contents not in the log)</li></ul>`,
				`<summary>Measured but not judged (2)</summary>`,
				`<tr><td>1</td><td>3</td><td>EV_EFI_VARIABLE_BOOT</td><td>BootOrder</td>`,
				`<tr><td>14</td><td>50</td><td>EV_IPL</td><td>MokList (label from the host, unproven)</td>`,
			},
			dontWant: []string{`class="differs"`, "does not match any reference"},
		},
		{
			name: "failed host marks the differing component and links its failure", host: "esx-02",
			want: []string{
				`<article class="failure" id="failure-1">`,
				`<tr class="differs"><th scope="row">kernel</th><td>vmkernel 6.7.0</td><td>5</td><td>31</td>`,
				`<td><a href="#failure-1">does not match any reference</a></td></tr>`,
				// the command line's text did not match its digest: withheld
				`<tr><th scope="row">kernel command line</th><td class="unproven">name withheld: data did not match its digest</td>`,
				`<ul class="cmdlines"><li><code>name withheld: data did not match its digest</code></li></ul>`,
			},
			dontWant: []string{"Measured but not judged", "<h3>Shim</h3>"},
		},
		{
			name: "hostile names are text", host: hostileName,
			want: []string{
				`<td class="unproven">&lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt; (label from the host, unproven)</td>`,
				`<td>verified by &lt;img src=x onerror=alert(5)&gt;</td>`,
				`<td>&lt;svg onload=alert(6)&gt; (label from the host, unproven)</td>`,
				`<td><a href="#failure-1">does not match any reference</a></td>`,
			},
		},
		{
			name: "no verdict: nothing measured", host: "esx-03",
			want: []string{`<p>No components: no verdict yet, or none of its events was proven.</p>`, "Unknown: the host sent no readable Secure Boot measurements."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, viewer, hostHref(tt.host))
			if r.code != 200 {
				t.Fatalf("GET %s: status %d", hostHref(tt.host), r.code)
			}
			booted := section(t, r.body, `<section id="booted"`)
			differs := strings.Index(r.body, `<section id="differs"`)
			checks := strings.Index(r.body, `<section aria-labelledby="checks-h">`)
			if start := strings.Index(r.body, `<section id="booted"`); start > checks || start < differs {
				t.Errorf("What booted is not between What differs and Checks")
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(booted, w) {
					t.Errorf("What booted has %q", w)
				}
			}
		})
	}
}

// section returns the page's section that starts with start.
func section(t *testing.T, body, start string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("page has no %s", start)
	}
	j := strings.Index(body[i:], "</section>")
	if j < 0 {
		t.Fatalf("%s is not closed", start)
	}
	return body[i : i+j]
}
