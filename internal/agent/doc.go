// Package agent is the attester's side of bootproof: it runs on a host,
// enrols it with a verifier (join token, EK, AK, credential activation), and
// answers the verifier's nonces with TPM quotes, the firmware event log and
// the bundle inventory.
//
// The agent judges nothing. It only opens outbound HTTPS connections, pins
// the verifier's CA, and after enrolment identifies itself with a client
// certificate; the verifier believes only what the TPM quote proves.
//
// Its life is a small state machine: unenrolled → enrolled → attesting,
// with backoff and jitter whenever the verifier cannot be reached. Its
// identity (AK blob, client key and certificate) is written atomically to
// its state directory, so a crash or reboot is not a re-enrolment.
package agent
