package verifier

import (
	"github.com/bootproof/bootproof/internal/wire"
)

// appendEvidence appends ev as json.Marshal(ev) writes it (jsonenc.go says
// why by hand).
func appendEvidence(dst []byte, ev *wire.Evidence) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "nonce")
	dst = appendBytes(dst, ev.Nonce)
	dst = appendNextKey(dst, "tpm_family")
	dst = appendString(dst, ev.TPMFamily)
	if len(ev.Quotes) > 0 {
		dst = appendNextKey(dst, "quotes")
		dst = append(dst, '[')
		for i := range ev.Quotes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuote(dst, &ev.Quotes[i])
		}
		dst = append(dst, ']')
	}
	if len(ev.EventLog) > 0 {
		dst = appendNextKey(dst, "event_log")
		dst = appendBytes(dst, ev.EventLog)
	}
	if ev.EventLogSHA256 != "" {
		dst = appendNextKey(dst, "event_log_sha256")
		dst = appendString(dst, ev.EventLogSHA256)
	}
	if len(ev.Bundles) > 0 {
		dst = appendNextKey(dst, "bundles")
		dst = append(dst, '[')
		for i, b := range ev.Bundles {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendBytes(dst, b)
		}
		dst = append(dst, ']')
	}
	if len(ev.BundlesSHA256) > 0 {
		dst = appendNextKey(dst, "bundles_sha256")
		dst = appendStrings(dst, ev.BundlesSHA256)
	}
	return append(dst, '}')
}

func appendQuote(dst []byte, q *wire.Quote) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "attest")
	dst = appendBytes(dst, q.Attest)
	dst = appendNextKey(dst, "signature")
	dst = appendBytes(dst, q.Signature)
	dst = appendNextKey(dst, "pcrs")
	dst = appendPCRValues(dst, q.PCRs)
	return append(dst, '}')
}

// appendPCRValues appends a quote's PCR values, base64 by bank and index,
// as json.Marshal writes them: null for nil.
func appendPCRValues(dst []byte, banks map[string]map[int][]byte) []byte {
	if banks == nil {
		return append(dst, "null"...)
	}
	var bankBuf [8]string
	dst = append(dst, '{')
	for i, bank := range sortedKeys(bankBuf[:0], banks) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, bank)
		dst = append(dst, ':')
		dst = appendIntMap(dst, banks[bank], appendBytes)
	}
	return append(dst, '}')
}

// appendBlobRefs appends r as json.Marshal(r) writes it.
func appendBlobRefs(dst []byte, r *blobRefs) []byte {
	dst = append(dst, '{')
	start := len(dst)
	if r.EventLogSHA256 != "" {
		dst = appendKey(dst, "event_log_sha256")
		dst = appendString(dst, r.EventLogSHA256)
	}
	if len(r.BundlesSHA256) > 0 {
		dst = appendKey(appendComma(dst, start), "bundles_sha256")
		dst = appendStrings(dst, r.BundlesSHA256)
	}
	if len(r.QuotePCRsSHA256) > 0 {
		dst = appendKey(appendComma(dst, start), "quote_pcrs_sha256")
		dst = appendStrings(dst, r.QuotePCRsSHA256)
	}
	if len(r.AKPublic) > 0 {
		dst = appendKey(appendComma(dst, start), "ak_public")
		dst = appendBytes(dst, r.AKPublic)
	}
	return append(dst, '}')
}

// appendComma separates a field from the one before it, if the object
// whose fields start at start has one.
func appendComma(dst []byte, start int) []byte {
	if len(dst) > start {
		return append(dst, ',')
	}
	return dst
}
