package api

// AppraisedVerdict is what `bootproof appraise DIR --json` prints. It is
// not an endpoint's answer: it is the verdict as GET
// /api/v1/hosts/{name}/verdict gives it (HostVerdict, whose meaning it
// keeps), with the headline reason the verifier records beside each verdict
// and GET /api/v1/hosts/{name} shows as reason_code and reason. The
// command computes both with the verifier's own function (verifier.Judge),
// so an offline verdict compares with the recorded one field by field.
type AppraisedVerdict struct {
	HostVerdict
	// ReasonCode and Reason are the headline: the failed check `hosts
	// list`, the history and webhooks show first. Empty when nothing failed.
	ReasonCode string `json:"reason_code,omitempty"`
	Reason     string `json:"reason,omitempty"`
}
