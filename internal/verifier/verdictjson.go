package verifier

import (
	"strconv"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/policy"
)

// appendVerdict appends v as json.Marshal(v) writes it (jsonenc.go says
// why by hand). Its fields, and those of the types in it, are in
// declaration order with their tags' names and omitempty; TestVerdictFields
// fails when one is added.
func appendVerdict(dst []byte, v *appraisal.Verdict) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "status")
	dst = appendString(dst, string(v.Status))
	if v.TrustLevel != "" {
		dst = appendNextKey(dst, "trust_level")
		dst = appendString(dst, v.TrustLevel)
	}
	dst = appendNextKey(dst, "checks")
	dst = appendChecks(dst, v.Checks)
	if v.Clock != nil {
		dst = appendNextKey(dst, "clock")
		dst = appendClock(dst, v.Clock)
	}
	if v.Bank != "" {
		dst = appendNextKey(dst, "bank")
		dst = appendString(dst, v.Bank)
	}
	if v.SecureBoot != nil {
		dst = appendNextKey(dst, "secure_boot")
		dst = appendSecureBoot(dst, v.SecureBoot)
	}
	if len(v.Components) > 0 {
		dst = appendNextKey(dst, "components")
		dst = appendComponents(dst, v.Components)
	}
	if len(v.PCRs) > 0 {
		dst = appendNextKey(dst, "pcrs")
		dst = appendHexPCRs(dst, v.PCRs)
	}
	if len(v.Bundles) > 0 {
		dst = appendNextKey(dst, "bundles")
		dst = appendBundles(dst, v.Bundles)
	}
	if len(v.NotChecked) > 0 {
		dst = appendNextKey(dst, "not_checked")
		dst = appendChecks(dst, v.NotChecked)
	}
	if len(v.NotJudged) > 0 {
		dst = appendNextKey(dst, "not_judged")
		dst = appendMeasurements(dst, v.NotJudged)
	}
	return append(dst, '}')
}

func appendChecks(dst []byte, cs []appraisal.Check) []byte {
	if cs == nil {
		return append(dst, "null"...)
	}
	return appendArray(dst, cs, appendCheck)
}

func appendCheck(dst []byte, c *appraisal.Check) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "code")
	dst = appendString(dst, c.Code)
	dst = appendNextKey(dst, "passed")
	dst = appendBool(dst, c.Passed)
	dst = appendNextKey(dst, "message")
	dst = appendString(dst, c.Message)
	if c.Bank != "" {
		dst = appendNextKey(dst, "bank")
		dst = appendString(dst, c.Bank)
	}
	if c.PCR != nil {
		dst = appendNextKey(dst, "pcr")
		dst = strconv.AppendInt(dst, int64(*c.PCR), 10)
	}
	if c.EventIndex != nil {
		dst = appendNextKey(dst, "event_index")
		dst = strconv.AppendInt(dst, int64(*c.EventIndex), 10)
	}
	if c.Component != "" {
		dst = appendNextKey(dst, "component")
		dst = appendString(dst, c.Component)
	}
	if len(c.Expected) > 0 {
		dst = appendNextKey(dst, "expected")
		dst = appendStrings(dst, c.Expected)
	}
	if c.Found != "" {
		dst = appendNextKey(dst, "found")
		dst = appendString(dst, c.Found)
	}
	return append(dst, '}')
}

func appendClock(dst []byte, c *appraisal.ClockInfo) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "clock")
	dst = strconv.AppendUint(dst, c.Clock, 10)
	dst = appendNextKey(dst, "reset_count")
	dst = strconv.AppendUint(dst, uint64(c.ResetCount), 10)
	dst = appendNextKey(dst, "restart_count")
	dst = strconv.AppendUint(dst, uint64(c.RestartCount), 10)
	dst = appendNextKey(dst, "safe")
	dst = appendBool(dst, c.Safe)
	return append(dst, '}')
}

func appendSecureBoot(dst []byte, sb *appraisal.SecureBoot) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "enabled")
	dst = appendBool(dst, sb.Enabled)
	for _, f := range []struct {
		name string
		v    []string
	}{{"pk", sb.PK}, {"kek", sb.KEK}, {"db", sb.DB}} {
		if len(f.v) > 0 {
			dst = appendNextKey(dst, f.name)
			dst = appendStrings(dst, f.v)
		}
	}
	dst = appendNextKey(dst, "dbx")
	dst = strconv.AppendInt(dst, int64(sb.DBX), 10)
	if len(sb.Authorities) > 0 {
		dst = appendNextKey(dst, "authorities")
		dst = appendStrings(dst, sb.Authorities)
	}
	for _, f := range []struct {
		name string
		v    []appraisal.CertName
	}{{"pk_certs", sb.PKCerts}, {"kek_certs", sb.KEKCerts}, {"db_certs", sb.DBCerts}, {"authority_certs", sb.AuthorityCerts}} {
		if len(f.v) > 0 {
			dst = appendNextKey(dst, f.name)
			dst = appendCertNames(dst, f.v)
		}
	}
	if sb.Shim != nil {
		dst = appendNextKey(dst, "shim")
		dst = appendShim(dst, sb.Shim)
	}
	return append(dst, '}')
}

// appendArray appends xs as a JSON array, each element by appendOne.
func appendArray[T any](dst []byte, xs []T, appendOne func([]byte, *T) []byte) []byte {
	dst = append(dst, '[')
	for i := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendOne(dst, &xs[i])
	}
	return append(dst, ']')
}

func appendCertNames(dst []byte, cs []appraisal.CertName) []byte {
	return appendArray(dst, cs, func(dst []byte, c *appraisal.CertName) []byte {
		dst = appendKey(append(dst, '{'), "subject")
		dst = appendString(dst, c.Subject)
		dst = appendNextKey(dst, "sha256")
		dst = appendString(dst, c.SHA256)
		return append(dst, '}')
	})
}

func appendShim(dst []byte, s *appraisal.ShimState) []byte {
	dst = append(dst, '{')
	if s.SbatLevel != "" {
		dst = appendKey(dst, "sbat_level")
		dst = appendString(dst, s.SbatLevel)
		dst = append(dst, ',')
	}
	dst = appendKey(dst, "validation")
	dst = appendString(dst, s.Validation)
	if len(s.MokLists) > 0 {
		dst = appendNextKey(dst, "mok_lists")
		dst = appendMeasurements(dst, s.MokLists)
	}
	return append(dst, '}')
}

func appendMeasurements(dst []byte, ms []appraisal.Measurement) []byte {
	return appendArray(dst, ms, appendMeasurement)
}

func appendMeasurement(dst []byte, m *appraisal.Measurement) []byte {
	dst = appendKey(append(dst, '{'), "pcr")
	dst = strconv.AppendInt(dst, int64(m.PCR), 10)
	dst = appendNextKey(dst, "event_index")
	dst = strconv.AppendInt(dst, int64(m.EventIndex), 10)
	dst = appendNextKey(dst, "type")
	dst = appendString(dst, m.Type)
	if m.Name != "" {
		dst = appendNextKey(dst, "name")
		dst = appendString(dst, m.Name)
	}
	dst = appendNextKey(dst, "name_proven")
	dst = strconv.AppendBool(dst, m.NameProven)
	for _, f := range [...]struct{ name, v string }{{"sha256", m.SHA256}, {"note", m.Note}} {
		if f.v != "" {
			dst = appendNextKey(dst, f.name)
			dst = appendString(dst, f.v)
		}
	}
	return append(dst, '}')
}

func appendComponents(dst []byte, cs policy.Components) []byte {
	dst = append(dst, '[')
	for i := range cs {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := &cs[i]
		dst = append(dst, '{')
		dst = appendKey(dst, "class")
		dst = appendString(dst, c.Class)
		if c.Name != "" {
			dst = appendNextKey(dst, "name")
			dst = appendString(dst, c.Name)
		}
		dst = appendNextKey(dst, "pcr")
		dst = strconv.AppendInt(dst, int64(c.PCR), 10)
		dst = appendNextKey(dst, "event_index")
		dst = strconv.AppendInt(dst, int64(c.EventIndex), 10)
		dst = appendNextKey(dst, "name_proven")
		dst = strconv.AppendBool(dst, c.NameProven)
		dst = appendNextKey(dst, "digests")
		dst = appendStringMap(dst, c.Digests)
		if c.Authority != "" {
			dst = appendNextKey(dst, "authority")
			dst = appendString(dst, c.Authority)
		}
		if c.AuthoritySHA256 != "" {
			dst = appendNextKey(dst, "authority_sha256")
			dst = appendString(dst, c.AuthoritySHA256)
		}
		if c.AuthorityInferred {
			dst = appendNextKey(dst, "authority_inferred")
			dst = appendBool(dst, true)
		}
		dst = appendNextKey(dst, "judged")
		dst = strconv.AppendBool(dst, c.Judged)
		if c.Reference != "" {
			dst = appendNextKey(dst, "reference")
			dst = appendString(dst, c.Reference)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendStringMap appends a map[string]string, keys sorted: null for nil.
func appendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var buf [8]string
	dst = append(dst, '{')
	for i, k := range sortedKeys(buf[:0], m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

// appendHexPCRs appends the verdict's PCR values, hex by bank and index.
func appendHexPCRs(dst []byte, banks map[string]map[int]string) []byte {
	var bankBuf [8]string
	dst = append(dst, '{')
	for i, bank := range sortedKeys(bankBuf[:0], banks) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, bank)
		dst = append(dst, ':')
		dst = appendIntMap(dst, banks[bank], appendString)
	}
	return append(dst, '}')
}

func appendBundles(dst []byte, bs []appraisal.Bundle) []byte {
	dst = append(dst, '[')
	for i := range bs {
		if i > 0 {
			dst = append(dst, ',')
		}
		b := &bs[i]
		dst = append(dst, '{')
		dst = appendKey(dst, "name")
		dst = appendString(dst, b.Name)
		dst = appendNextKey(dst, "version")
		dst = appendString(dst, b.Version)
		dst = appendNextKey(dst, "vendor")
		dst = appendString(dst, b.Vendor)
		dst = appendNextKey(dst, "acceptance")
		dst = appendString(dst, b.Acceptance)
		dst = appendNextKey(dst, "signature")
		dst = appendString(dst, b.Signature)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendVerdictRef appends r as json.Marshal(r) writes it.
func appendVerdictRef(dst []byte, r verdictRef) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "verdict_sha256")
	dst = appendString(dst, r.VerdictSHA256)
	if r.Clock != nil {
		dst = appendNextKey(dst, "clock")
		dst = appendClock(dst, r.Clock)
	}
	return append(dst, '}')
}
