package bootview

import "github.com/bootproof/bootproof/internal/appraisal"

// Measured is a proven measurement no rule judged, as shown.
type Measured struct {
	PCR        int
	EventIndex int
	Type       string
	Name       string // Name(name, proven): marked or withheld as components are
	Digest     string // SHA-256, "" when that bank was not proven
	Short      string
	Note       string // what the digest is of when the data does not show it
}

// NotJudged words the verdict's unjudged measurements, in log order.
func NotJudged(ms []appraisal.Measurement) []Measured {
	out := make([]Measured, 0, len(ms))
	for _, m := range ms {
		out = append(out, Measured{PCR: m.PCR, EventIndex: m.EventIndex, Type: m.Type,
			Name: Name(m.Name, m.NameProven), Digest: m.SHA256, Short: short(m.SHA256), Note: m.Note})
	}
	return out
}

// Report is everything a surface shows of what booted.
type Report struct {
	Stages       []Stage
	CommandLines []string
	SecureBoot   *SecureBoot // nil when the verdict has no Secure Boot state
	NotJudged    []Measured
}

// New words what a verdict says booted; a nil verdict gives an empty
// report.
func New(v *appraisal.Verdict) Report {
	if v == nil {
		return Report{}
	}
	return Report{Stages: Stages(v.Components), CommandLines: CommandLines(v.Components),
		SecureBoot: SecureBootOf(v.SecureBoot), NotJudged: NotJudged(v.NotJudged)}
}
