// Package eventlog reads, writes and replays TCG PC Client event logs: the
// crypto-agile format of the TCG PC Client Platform Firmware Profile
// (Spec ID Event03) and the legacy SHA-1 format of TCG 1.2 style logs.
//
// An event log is untrusted input. Nothing in it is believed until a replay
// of its digests reproduces PCR values that a TPM quote covers; this package
// only parses and replays, and leaves the decision to its callers.
//
// It is pure: no network, no storage, no logging, no clock.
package eventlog
