package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/bootview"
)

// writeHostText writes a host with a verdict: its line, what differs
// (a Failed host's headline first), what booted, Secure Boot, shim and
// what was measured but not judged, in the words of the host page
// (package bootview).
func writeHostText(w io.Writer, h api.HostDetail, now time.Time) error {
	p := &textPrinter{w: w}
	p.hostLine(h, now)
	p.differs(h)
	r := bootview.New(h.Verdict)
	p.booted(r)
	p.secureBoot(r.SecureBoot)
	p.notJudged(r.NotJudged)
	return p.err
}

// textPrinter keeps the first write error, so that the sections read as a
// list of what to print.
type textPrinter struct {
	w   io.Writer
	err error
}

func (p *textPrinter) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (p *textPrinter) hostLine(h api.HostDetail, now time.Time) {
	p.printf("%s  group %s  %s since %s  last attested %s\n", h.Name, h.Group, h.Status,
		h.StatusSince.UTC().Format(time.RFC3339), attested(h.LastAttested, now))
	if h.TrustLevel == appraisal.TrustSecureBootOnly {
		p.printf("trust level: Secure Boot only: no reference values (the group constrains no component; any boot Secure Boot let run passes)\n")
	}
	if h.Stale && h.StaleSince != nil {
		p.printf("STALE: no evidence since the group's limit ran out at %s; %s is the last recorded status, not current\n",
			h.StaleSince.UTC().Format(time.RFC3339), h.Status)
	}
	if e := h.PendingEKInfo; e != nil {
		p.printf("pending EK change: %s issuer %q serial %s (approve with: bootproof hosts approve-ek %s --ek %s)\n",
			e.SHA256, e.Issuer, e.Serial, h.Name, e.SHA256)
	}
}

func attested(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339) + " (" + now.Sub(*t).Round(time.Second).String() + " ago)"
}

// differs prints the failed checks, the host's headline first.
func (p *textPrinter) differs(h api.HostDetail) {
	fails := headlineFirst(h.Verdict.Failures(), h.ReasonCode, h.Reason)
	if len(fails) == 0 {
		return
	}
	p.printf("\nWhat differs\n")
	if h.Reason != "" {
		p.printf("  reason: %s (%s)\n", h.Reason, h.ReasonCode)
	}
	var b strings.Builder
	for _, c := range fails {
		writeCheck(&b, "-", c) // as `bootproof appraise` prints a check
	}
	p.printf("%s", b.String())
}

// headlineFirst moves the failure that is the host's stored headline to
// the front, as the host page does.
func headlineFirst(fails []appraisal.Check, code, reason string) []appraisal.Check {
	for i, c := range fails {
		if c.Code == code && c.Message == reason {
			return append([]appraisal.Check{c}, append(fails[:i:i], fails[i+1:]...)...)
		}
	}
	return fails
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (p *textPrinter) booted(r bootview.Report) {
	p.printf("\nWhat booted\n")
	if len(r.Stages) == 0 {
		p.printf("  no components: none of the verdict's events was proven\n")
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	for _, s := range r.Stages {
		mark := " "
		if s.Differs {
			mark = "!"
		}
		if p.err == nil {
			_, p.err = fmt.Fprintf(tw, "%s %s\t%s\tPCR %d\tevent %d\t%s\t%s\t%s\n", mark, s.Kind, s.Name, s.PCR, s.EventIndex,
				orNone(bankDigest(s.Bank, s.Digest)), orNone(s.VerifiedBy), s.Judgement)
		}
	}
	if p.err == nil {
		p.err = tw.Flush()
	}
	p.printf("\nKernel command line\n")
	p.list(r.CommandLines, "none measured")
}

func bankDigest(bank, digest string) string {
	if digest == "" {
		return ""
	}
	return bank + ":" + digest
}

func (p *textPrinter) list(lines []string, empty string) {
	if len(lines) == 0 {
		p.printf("  %s\n", empty)
	}
	for _, l := range lines {
		p.printf("  %s\n", l)
	}
}

func (p *textPrinter) secureBoot(sb *bootview.SecureBoot) {
	if sb == nil {
		p.printf("\nSecure Boot: unknown (the host sent no readable Secure Boot measurements)\n")
		return
	}
	state := "off"
	if sb.Enabled {
		state = "on"
	}
	p.printf("\nSecure Boot: %s\n", state)
	p.certs("PK", sb.PK)
	p.certs("KEK", sb.KEK)
	p.certs("db", sb.DB)
	p.printf("  dbx: %s\n", sb.DBX)
	p.certs("verified the images", sb.Authorities)
	if s := sb.Shim; s != nil {
		p.printf("\nShim\n  SbatLevel: %s\n  validation: %s\n", strings.ReplaceAll(strings.TrimSpace(s.SbatLevel), "\n", " "), s.Validation)
		if len(s.MokLists) == 0 {
			p.printf("  MOK lists (PCR 14): not measured\n")
		}
		for _, m := range s.MokLists {
			p.printf("  %s (PCR 14, event %d): sha256:%s", m.Name, m.EventIndex, m.Digest)
			if m.Note != "" {
				p.printf(" (%s)", m.Note)
			}
			p.printf("\n")
		}
	}
}

func (p *textPrinter) certs(what string, cs []bootview.Cert) {
	if len(cs) == 0 {
		p.printf("  %s: empty\n", what)
		return
	}
	p.printf("  %s:\n", what)
	for _, c := range cs {
		p.printf("    %s\n", c)
	}
}

func (p *textPrinter) notJudged(ms []bootview.Measured) {
	p.printf("\nMeasured but not judged (%d)\n", len(ms))
	for _, m := range ms {
		p.printf("  PCR %d  event %d  %s  %s  %s\n", m.PCR, m.EventIndex, m.Type, m.Name, orNone(bankDigest("sha256", m.Digest)))
	}
}
