// Package loadgen is a load generator for the verifier, for sizing and
// benchmarks only: it never runs in a product path.
//
// It simulates many TPM 2.0 hosts in one process. Each simulated host holds
// a software EK (certified by a loadgen maker CA the verifier is told to
// trust) and a software AK whose TPMT_PUBLIC carries the attributes of a
// TPM-resident key; it answers the enrolment challenge in software and
// signs TPMS_ATTEST quotes marshalled with go-tpm, over event logs that the
// emulated boot chain produced once per profile against the reference TPM.
// The bytes on the wire are those a TPM produces; only the keys live in
// software, which is why a verifier must never trust this package's maker
// CA outside a load test.
//
// It trusts nothing it receives beyond what the protocol needs; it measures
// the verifier (latency seen by the agents, the verifier process's CPU and
// memory from /proc), not itself.
package loadgen
