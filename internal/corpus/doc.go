// Package corpus loads the shared corpus of real TCG event logs
// (../shared/testdata/eventlogs beside the repository: logs from real
// machines and VMs, their PCR values where known, and what the reference
// parsers go-attestation and go-eventlog said of each). It is test support:
// only _test.go files import it, and it skips the test, with a message,
// where the corpus is absent. The corpus is read in place, never copied.
package corpus
