// Package appraisal is the verifier's judgement of one host's evidence:
// Appraise checks the TPM quotes against the host's enrolled AK and the
// nonce the verifier issued, replays the event log against the quoted PCRs
// bank by bank, and judges only the events the quotes prove: Secure Boot
// state, firmware, boot loader, kernel, boot options and modules against the
// group's reference values, and the host's bundles against the trusted
// vendor roots.
//
// What it trusts: the enrolled AK public key, the issued nonce, the last
// accepted clock and the policy, all given by the verifier. Everything the
// host sent (quotes, PCR values, event log, bundles) is untrusted until a
// check proves it; an event in a PCR no valid quote covers never feeds a
// decision.
//
// Host failures are data: every outcome for a host is a Verdict with coded
// checks. Appraise returns an error only when it cannot judge at all (no
// evidence, no policy, an invalid policy or enrolled AK).
//
// It is pure: no network, no storage, no logging, no clock (Input.Now). The
// one piece of state, Input.BundleMemo, belongs to the caller and only
// saves re-verifying bundle files that verified before; it never changes a
// verdict.
package appraisal
