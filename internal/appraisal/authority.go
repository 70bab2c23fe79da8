package appraisal

import (
	"encoding/hex"
	"strings"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// imageAuthorities pairs each PCR 7 EV_EFI_VARIABLE_AUTHORITY event that
// names a certificate (db, shim's vendor certificate "Shim", MokList,
// vendor_db) with the PCR 4 image it verified, by position: the log does
// not say which image an authority is for. Authorities before the PCR 7
// separator verified drivers, and entries without a certificate (SbatLevel,
// MokListTrusted) verified nothing; both are skipped.
//
// Where the authority is logged differs by verifier, as the corpus shows:
//   - firmware logs the db entry before the image it is about to run,
//     once per entry and boot (EDK2), so the first image's authority is
//     the last one before it;
//   - shim before 15.5 measured an image, then verified it: its
//     authorities follow their image ("after" order);
//   - later shims verify first: their authorities precede their image.
//
// The order of the authorities after the first image is read from the
// first of them: one after the second image is "after" order; one between
// the first and the second image is "before" order unless that leaves an
// authority with no image after it (some firmware also logs db after the
// image: then every authority follows its image).
func imageAuthorities(events []eventlog.Event, auths []uefi.Authority) map[int]*uefi.Cert {
	out := map[int]*uefi.Cert{}
	images := imagesAfterSeparator(events)
	var certs []uefi.Authority
	for _, a := range auths {
		if a.AfterSeparator && a.Cert != nil {
			certs = append(certs, a)
		}
	}
	if len(images) == 0 || len(certs) == 0 {
		return out
	}
	// The firmware's authority for the first image: the last one before it.
	k := 0
	for k < len(certs) && certs[k].Event < images[0] {
		k++
	}
	if k > 0 {
		out[images[0]] = certs[k-1].Cert
	}
	rest := certs[k:]
	if len(rest) == 0 {
		return out
	}
	after := authoritiesFollow(images, rest)
	for _, a := range rest {
		if im, ok := pairImage(images, a.Event, after); ok && out[im] == nil {
			out[im] = a.Cert
		}
	}
	return out
}

// imagesAfterSeparator are the log indices of the PCR 4 images after the
// PCR 4 separator: the boot option's image and what it started (some
// firmware runs its own applications before, and logs the PCR 7
// separator before those).
func imagesAfterSeparator(events []eventlog.Event) []int {
	var all, after []int
	separated := false
	for i := range events {
		e := &events[i]
		switch {
		case e.PCR == 4 && e.Type == eventlog.EvSeparator:
			separated = true
		case isImage(e):
			all = append(all, e.Index)
			if separated {
				after = append(after, e.Index)
			}
		}
	}
	if !separated {
		return all // a log fragment without the separator
	}
	return after
}

// authoritiesFollow decides the order of the authorities after the first
// image (see imageAuthorities): true when each follows its image.
func authoritiesFollow(images []int, rest []uefi.Authority) bool {
	before := 0
	for _, im := range images {
		if im < rest[0].Event {
			before++
		}
	}
	if before >= 2 {
		return true // the first follows the second image
	}
	last := images[len(images)-1]
	return rest[len(rest)-1].Event > last // would have no image after it
}

// pairImage is the image an authority at log index ev is for: the latest
// image before it when authorities follow their image (or, when there is
// none, the next), else the next image.
func pairImage(images []int, ev int, after bool) (int, bool) {
	prev, next := -1, -1
	for _, im := range images {
		if im < ev {
			prev = im
		} else if next < 0 {
			next = im
		}
	}
	if after && prev >= 0 {
		return prev, true
	}
	return next, next >= 0
}

// authorityNames is what a component shows of the certificate that
// verified it: the subject's common name (the whole subject when it has
// none) and the certificate's SHA-256 fingerprint.
func authorityNames(c *uefi.Cert) (subject, fingerprint string) {
	if c == nil {
		return "", ""
	}
	c.ReadNames()
	return commonName(c.Subject), hex.EncodeToString(c.SHA256[:])
}

// commonName reads the CN of an RFC 2253 subject ("CN=Debian Secure Boot
// CA,O=..."), undoing its escapes; it returns the subject when there is no
// CN.
func commonName(subject string) string {
	var part strings.Builder
	escaped := false
	flush := func() (string, bool) {
		s := part.String()
		part.Reset()
		v, ok := strings.CutPrefix(s, "CN=")
		return v, ok
	}
	for _, r := range subject {
		switch {
		case escaped:
			part.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == ',' || r == '+':
			if cn, ok := flush(); ok {
				return clip(cn)
			}
		default:
			part.WriteRune(r)
		}
	}
	if cn, ok := flush(); ok {
		return clip(cn)
	}
	return clip(subject)
}

// authorityCerts are the certificates the PCR 7 authority events name (db
// entries, shim's vendor certificate, MokList entries), once each in log
// order: firmware logs a db entry once per boot, shim once per image it
// verified. Authorities without a certificate (SbatLevel, MokSBState)
// verified nothing and are not among them.
func authorityCerts(auths []uefi.Authority) []CertName {
	var out []CertName
	seen := map[[32]byte]bool{}
	for _, a := range auths {
		if a.Cert == nil || seen[a.Cert.SHA256] {
			continue
		}
		seen[a.Cert.SHA256] = true
		out = append(out, certName(a.Cert))
	}
	return out
}
