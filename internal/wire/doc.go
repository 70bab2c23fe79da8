// Package wire is the contract between the agent and the verifier: the JSON
// messages of the agent protocol under /agent/v1 and the protocol version.
//
// Everything an agent sends is untrusted. Messages carry raw TPM structures
// (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC) exactly as the TPM produced
// them, so that the verifier checks the TPM's bytes and not a re-encoding.
package wire
