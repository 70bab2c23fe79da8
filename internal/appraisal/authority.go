package appraisal

import (
	"bytes"
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

// loggedOnceAuthorities names the certificate that verified the images
// that have no authority event of their own. Firmware (TCG PC Client PFP
// §3.3.4.8: an authority is measured once per boot) and shim log each
// certificate the first time it verifies something, so an image verified
// later by the same certificate has no event: a Debian kernel that shim
// verifies with the Debian Secure Boot CA it already logged for GRUB.
//
// Which certificate that was is known only when there is one candidate:
// the loader's authorities (those logged after the first image, when
// shim or another loader verified the later images) or else the
// firmware's, are all one certificate. Then each later image without its
// own authority gets it, marked as inferred. No inference is made when
// the candidates are several certificates, when one of them is a hash
// (an image allowed by its hash in db or MokList), or when shim's
// MokSBState was measured (validation may have been turned off, so
// nothing was verified).
func loggedOnceAuthorities(events []eventlog.Event, auths []uefi.Authority, own map[int]*uefi.Cert) map[int]*uefi.Cert {
	images := imagesAfterSeparator(events)
	if len(images) < 2 || mokSBStateMeasured(events, auths) {
		return nil
	}
	var firmware, loader []uefi.Authority
	for _, a := range auths {
		switch {
		case !a.AfterSeparator || !verifies(a):
			continue
		case a.Event < images[0]:
			firmware = append(firmware, a)
		default:
			loader = append(loader, a)
		}
	}
	candidates := loader
	if len(candidates) == 0 {
		candidates = firmware
	}
	cert, ok := oneCertificate(candidates)
	if !ok {
		return nil
	}
	out := map[int]*uefi.Cert{}
	for _, im := range images[1:] {
		if own[im] == nil && im > candidates[0].Event {
			out[im] = cert
		}
	}
	return out
}

// verifies reports whether an authority event is about what verified an
// image: shim's SbatLevel and MokListTrusted entries are not.
func verifies(a uefi.Authority) bool {
	return a.Variable != "SbatLevel" && a.Variable != "MokListTrusted"
}

// oneCertificate returns the certificate all the authorities name, or
// false when they name several, or any is not a certificate.
func oneCertificate(auths []uefi.Authority) (*uefi.Cert, bool) {
	var cert *uefi.Cert
	for _, a := range auths {
		if a.Cert == nil || cert != nil && a.Cert.SHA256 != cert.SHA256 {
			return nil, false
		}
		cert = a.Cert
	}
	return cert, cert != nil
}

// mokSBStateMeasured reports whether shim measured its MokSBState
// variable (into PCR 7 as an authority, or PCR 14), which exists only
// when a machine owner asked shim not to verify what it loads.
func mokSBStateMeasured(events []eventlog.Event, auths []uefi.Authority) bool {
	for _, a := range auths {
		if a.Variable == "MokSBState" {
			return true
		}
	}
	for i := range events {
		if e := &events[i]; e.PCR == 14 && bytes.HasPrefix(e.Data, []byte("MokSBState")) {
			return true
		}
	}
	return false
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
