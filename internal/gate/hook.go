package gate

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// HookCall is one call of libvirt's qemu hook, as libvirt makes it:
//
//	/etc/libvirt/hooks/qemu GUEST OPERATION SUB-OPERATION EXTRA
//
// with the domain XML on stdin (https://libvirt.org/hooks.html).
type HookCall struct {
	Guest, Operation, SubOperation, Extra string
}

// ParseHookArgs reads libvirt's arguments. libvirt always passes four;
// fewer than two cannot be a libvirt call.
func ParseHookArgs(args []string) (HookCall, error) {
	if len(args) < 2 {
		return HookCall{}, fmt.Errorf("libvirt hook: got %d arguments, want GUEST OPERATION SUB-OPERATION EXTRA", len(args))
	}
	c := HookCall{Guest: args[0], Operation: args[1], SubOperation: "-", Extra: "-"}
	if len(args) > 2 {
		c.SubOperation = args[2]
	}
	if len(args) > 3 {
		c.Extra = args[3]
	}
	return c, nil
}

// Gated says whether the gate decides this call. It decides the calls that
// put a workload on this host: "prepare begin" and "start begin" (every
// start, including the destination side of a migration and a restore) and
// "migrate begin", which libvirt runs on the destination host of an
// incoming migration. Every other operation (started, stopped, release,
// restore, reconnect, attach) passes untouched and without a network call:
// refusing a stop or a reconnect would only strand running guests.
func (c HookCall) Gated() bool {
	switch c.Operation {
	case "prepare", "start", "migrate":
		return c.SubOperation == "begin"
	}
	return false
}

// verb names what is refused, for the message libvirt shows.
func (c HookCall) verb() string {
	if c.Operation == "migrate" {
		return "accept the incoming migration of"
	}
	return "start"
}

// Domain is what the gate reads from the domain XML: only for messages; the
// decision is about the host, not the guest.
type Domain struct {
	Name string `xml:"name"`
	UUID string `xml:"uuid"`
}

// MaxDomainXML bounds what is read from stdin.
const MaxDomainXML = 16 << 20

// ParseDomainXML reads the <domain> element's name and UUID.
func ParseDomainXML(b []byte) (Domain, error) {
	var d struct {
		XMLName xml.Name `xml:"domain"`
		Domain
	}
	if len(b) > MaxDomainXML {
		return Domain{}, fmt.Errorf("domain XML: %d bytes, more than %d", len(b), MaxDomainXML)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return Domain{}, errors.New("domain XML: empty")
		}
		return Domain{}, fmt.Errorf("domain XML: %w", err)
	}
	return d.Domain, nil
}

// Hook decides one gated libvirt call for this gate's own host. It returns
// the exit status libvirt expects: 0 lets the operation go on; 1 makes
// libvirt refuse it, with the line written to stderr as the reason. Nothing
// is ever written to stdout: for "migrate" libvirt would read it as a
// replacement domain XML.
func (g *Gate) Hook(ctx context.Context, call HookCall, domainXML []byte, stderr io.Writer) int {
	if !call.Gated() {
		return 0
	}
	guest := call.Guest
	if d, err := ParseDomainXML(domainXML); err == nil && d.UUID != "" {
		guest = fmt.Sprintf("%s (%s)", call.Guest, d.UUID)
	}
	d := g.Check(ctx, g.cfg.Host)
	for _, w := range d.Warnings {
		fmt.Fprintf(stderr, "bootproof gate: warning: %s\n", w)
	}
	if !d.Allow {
		fmt.Fprintf(stderr, "bootproof gate: refused to %s guest %s on host %s: %s [%s]\n",
			call.verb(), guest, d.Host, d.Reason, d.Source)
		return 1
	}
	if d.Source != SourceVerifier || d.Status != "Passed" {
		// Allowed, but not on a fresh Passed verdict: say so where libvirt logs it.
		fmt.Fprintf(stderr, "bootproof gate: allowed to %s guest %s on host %s: %s [%s]\n",
			call.verb(), guest, d.Host, d.Reason, d.Source)
	}
	return 0
}

// Host is the host this gate speaks for.
func (g *Gate) Host() string { return g.cfg.Host }
