package appraisal

// QuotesHold reports whether every quote of in.Evidence holds as Appraise's
// quote checks (2 and 3) judge it: signed by in.AKPublic, over in.Nonce,
// its PCR values the ones quoted, no bank twice, one TPM boot, and not
// older than in.Last. It is what a verdict depends on beyond the evidence's
// repeating parts (event log, PCR values, bundles) and the policy: two
// evidences with the same repeating parts whose quotes both hold are
// judged alike but for the quote's clock. A fleet-wide re-appraisal
// (verifier.Preview) appraises such parts once, and checks each host's
// quotes with this.
func QuotesHold(in Input) bool {
	if in.Evidence == nil || len(in.Evidence.Quotes) == 0 || len(in.Nonce) == 0 {
		return false
	}
	ak, err := akKey(in.AKPublic)
	if err != nil {
		return false
	}
	a := &appraisal{in: in, v: &Verdict{Status: Passed}, quotesOnly: true}
	quotes := a.checkQuotes(ak)
	return len(quotes) > 0 && a.v.Status == Passed
}
