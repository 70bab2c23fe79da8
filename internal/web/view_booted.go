package web

import (
	"github.com/bootproof/bootproof/internal/bootview"
)

// bootedView is the "What booted" section: the verdict's chain as package
// bootview words it, with each differing component linked to its failure
// in "What differs".
type bootedView struct {
	Stages       []stageView
	CommandLines []string
	SecureBoot   *bootview.SecureBoot
	NotJudged    []bootview.Measured
}

type stageView struct {
	bootview.Stage
	// FailureHref links a differing component to the failure about its
	// event ("#differs" when no failure names the event).
	FailureHref string
}

// Empty says the verdict measured nothing to show.
func (b bootedView) Empty() bool {
	return len(b.Stages) == 0 && len(b.CommandLines) == 0 && b.SecureBoot == nil && len(b.NotJudged) == 0
}

func newBootedView(h HostDetail, failures []checkView) bootedView {
	b := bootedView{CommandLines: bootview.CommandLines(h.Components), SecureBoot: bootview.SecureBootOf(h.SecureBoot),
		NotJudged: bootview.NotJudged(h.NotJudged)}
	for _, s := range bootview.Stages(h.Components) {
		sv := stageView{Stage: s}
		if s.Differs {
			sv.FailureHref = failureHref(failures, s.PCR, s.EventIndex)
		}
		b.Stages = append(b.Stages, sv)
	}
	return b
}

// failureHref is the anchor of the failure about event (pcr, index).
func failureHref(failures []checkView, pcr, index int) string {
	for _, f := range failures {
		if f.PCR == pcr && f.EventIndex == index {
			return "#" + f.ID
		}
	}
	return "#differs"
}
